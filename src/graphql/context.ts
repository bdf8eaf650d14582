import type { RunService } from '../runs/run-service.js';
import type { PrismaClient } from '../storage/generated/client.js';
import { ImageLibrary } from './image-library.js';
import type { ApiLimits } from './limits.js';
import { RunsApi } from './runs-api.js';
import { ServiceStatus } from './service-status.js';

/** What the resolvers call: one set per server. */
export interface ApiServices {
  runService: RunService;
  runs: RunsApi;
  images: ImageLibrary;
  status: ServiceStatus;
}

/** Per request (or per WebSocket connection). */
export interface ApiContext extends ApiServices {
  /** Where this client reaches the server, e.g. `http://127.0.0.1:4000`: image URLs start with it. */
  baseUrl: string;
}

export function createApiServices(service: { db: { prisma: PrismaClient }; runs: RunService }, limits: ApiLimits): ApiServices {
  return {
    runService: service.runs,
    runs: new RunsApi(service.runs, limits),
    images: new ImageLibrary(service.db.prisma, limits),
    status: new ServiceStatus(service.db.prisma, limits),
  };
}
