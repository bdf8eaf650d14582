import type { Caller } from '../auth/caller.js';
import type { Telemetry } from '../observability/telemetry.js';
import type { RunService } from '../runs/run-service.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { ImageLibrary } from '../images/image-library.js';
import type { MovingImages } from '../images/moving-images.js';
import type { FeedOptions } from './run-event-feed.js';
import type { ApiLimits } from '../runs/limits.js';
import { RunsApi } from './runs-api.js';
import { ServiceStatus } from './service-status.js';

/** What the resolvers call: one set per server. */
export interface ApiServices {
  runService: RunService;
  telemetry: Telemetry;
  runs: RunsApi;
  images: ImageLibrary;
  status: ServiceStatus;
}

/** Per request (or per WebSocket connection). */
export interface ApiContext extends ApiServices {
  /** Where this client reaches the server, e.g. `http://127.0.0.1:4000`: image URLs start with it. */
  baseUrl: string;
  /** Who is asking (ANONYMOUS when auth is off): services filter by its owner. */
  caller: Caller;
  /** Bounds of runEvents subscriptions. */
  feedOptions?: FeedOptions;
}

export function createApiServices(
  service: { db: { prisma: PrismaClient }; runs: RunService; telemetry: Telemetry; movingImages: MovingImages },
  limits: ApiLimits,
  options: { maxQueuedRuns?: number } = {},
): ApiServices {
  const images = new ImageLibrary(service.db.prisma, limits, service.movingImages);
  return {
    runService: service.runs,
    telemetry: service.telemetry,
    runs: new RunsApi(service.runs.withRules({ limits, maxQueuedRuns: options.maxQueuedRuns ?? Infinity }), images),
    images,
    status: new ServiceStatus(service.db.prisma, limits, service.movingImages.acceptedTypes, service.runs.profiles, () => service.telemetry.engine),
  };
}
