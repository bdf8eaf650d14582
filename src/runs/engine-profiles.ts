import os from 'node:os';
import type { BackendName, EngineSpeed } from '../engine/index.js';
import type { Prisma, PrismaClient } from '../storage/generated/client.js';

/** What the service knows of an engine's speed: kept in the database, so every API node estimates from what the workers measured. */
export interface EngineProfile {
  backend: BackendName;
  device: string;
  threads: number | null;
  speed: EngineSpeed;
  /** Measured over predicted time of the engine's runs since it was calibrated (1 before any). */
  correction: number;
  runs: number;
}

/** How much one run moves the correction: it follows the engine's recent runs, not one noisy one. */
const CORRECTION_WEIGHT = 0.3;
/**
 * Runs predicted shorter than this move it proportionally less: in a run of
 * seconds the per-run costs the model leaves out (kernels set up for a new
 * size, previews encoded) weigh heavily, and they would inflate the estimate
 * of every long run.
 */
const FULL_WEIGHT_MS = 30_000;

export class EngineProfiles {
  constructor(private readonly prisma: PrismaClient, private readonly host: string = os.hostname()) {}

  /** An engine started and measured itself: its profile starts afresh. */
  async calibrated(engine: { backend: BackendName; device: string; threads: number | null; speed: EngineSpeed }): Promise<void> {
    const data = { backend: engine.backend, threads: engine.threads, speed: engine.speed as unknown as Prisma.InputJsonObject, correction: 1, runs: 0 };
    await this.prisma.engineProfile.upsert({
      where: { host_device: { host: this.host, device: engine.device } },
      create: { host: this.host, device: engine.device, ...data },
      update: data,
    });
  }

  /** A run on this host's engine `device` took `measuredMs` where its profile predicted `predictedMs`. */
  async observed(device: string, measuredMs: number, predictedMs: number): Promise<void> {
    if (!(measuredMs > 0 && predictedMs > 0)) return;
    const ratio = measuredMs / predictedMs;
    const weight = CORRECTION_WEIGHT * Math.min(1, predictedMs / FULL_WEIGHT_MS);
    // One statement, so that two workers of one host cannot lose each other's update.
    await this.prisma.$executeRaw`
      UPDATE engine_profiles
      SET correction = (1 - ${weight}::float8) * correction + ${weight}::float8 * ${ratio}::float8, runs = runs + 1, "updatedAt" = now()
      WHERE host = ${this.host} AND device = ${device}`;
  }

  /** The profile of the engine that computed most recently: the best guess at the one that will run the next run. */
  async latest(): Promise<EngineProfile | null> {
    const row = await this.prisma.engineProfile.findFirst({ orderBy: { updatedAt: 'desc' } });
    return row && {
      backend: row.backend as BackendName,
      device: row.device,
      threads: row.threads,
      speed: row.speed as unknown as EngineSpeed,
      correction: row.correction,
      runs: row.runs,
    };
  }
}
