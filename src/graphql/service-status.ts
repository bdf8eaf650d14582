import { VERSION } from '../config.js';
import { engineMemoryBytes, largestSquareSize, locateVgg19, WeightsNotFoundError, type BackendName } from '../engine/index.js';
import type { EngineProfiles } from '../runs/engine-profiles.js';
import type { EngineState } from '../observability/telemetry.js';
import type { PrismaClient } from '../storage/generated/client.js';
import type { ApiLimits } from '../runs/limits.js';
import type { ServiceInfo } from './types/service-info.js';

const BACKENDS: BackendName[] = ['wasm', 'tensorflow', 'cpu'];

/**
 * Engines run in worker threads, maybe in other processes: this process's own
 * engine when it has one, else what the latest started run used.
 */
export class ServiceStatus {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly limits: ApiLimits,
    /** The MIME types uploads may be (MovingImages.acceptedTypes). */
    private readonly acceptedTypes: readonly string[],
    private readonly profiles: EngineProfiles,
    private readonly localEngine: () => EngineState = () => ({ state: 'not-started' }),
  ) {}

  async info(): Promise<ServiceInfo> {
    const [queueLength, runningCount, latest] = await Promise.all([
      this.prisma.run.count({ where: { status: 'QUEUED' } }),
      this.prisma.run.count({ where: { status: 'RUNNING' } }),
      this.prisma.run.findFirst({
        where: { backend: { not: null } },
        orderBy: { startedAt: 'desc' },
        select: { backend: true, device: true },
      }),
    ]);
    const local = this.localEngine();
    const engine = local.state === 'ready' ? local : latest;
    const profile = await this.profiles.latest();
    return {
      version: VERSION,
      backend: engine?.backend ?? null,
      device: engine?.device ?? null,
      weights: weightsInUse(),
      queueLength,
      runningCount,
      limits: { ...this.limits },
      acceptedTypes: [...this.acceptedTypes],
      threads: profile?.threads ?? null,
      capacity: BACKENDS.map((backend) => {
        const limited = engineMemoryBytes({ backend, contentPixels: 0, stylePixels: [], inputPixels: 0, optimizer: 'adam', lbfgsHistory: 1 }).heapLimitBytes;
        return { backend, largestSquareMaxDim: limited === null ? null : largestSquareSize(backend), memoryLimitBytes: limited };
      }),
    };
  }
}

/** Workers find their weights the same way, from the same environment. */
function weightsInUse(): string | null {
  try {
    const source = locateVgg19();
    return `${source.kind} ${source.path}`;
  } catch (err) {
    if (err instanceof WeightsNotFoundError) return null;
    throw err;
  }
}
