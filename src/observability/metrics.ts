import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PrismaClient } from '../storage/generated/client.js';
import { RunStatus } from '../storage/generated/enums.js';

/** Prometheus' text format, what `GET /metrics` answers with. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** How long a scrape waits for the database before it answers with the values it has (and `stylegraph_database_up 0`). */
const DATABASE_SCRAPE_TIMEOUT_MS = 2_000;

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The service's metrics, in a registry of its own (not prom-client's global
 * one, so that several services in one process, as in the tests, do not
 * share or clash). Counters and histograms count what this process did; the
 * gauges about stored state (runs by status, the queue, images) are read from
 * the database at each scrape, so they are right for the whole deployment
 * whichever process is scraped.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  // Stored state, read from the database at each scrape.
  readonly runs = this.gauge('stylegraph_runs', 'Runs stored, by status (all processes).', ['status']);
  readonly queueLength = this.gauge('stylegraph_queue_length', 'Runs waiting for a worker (status QUEUED).');
  readonly queueOldestWait = this.gauge('stylegraph_queue_oldest_wait_seconds', 'How long the oldest queued run has waited; 0 when none waits.');
  readonly imagesStored = this.gauge('stylegraph_images_stored', 'Images stored (uploads, previews, results).');
  readonly imagesStoredBytes = this.gauge('stylegraph_images_stored_bytes', 'Bytes of the images stored.');
  readonly databaseUp = this.gauge('stylegraph_database_up', '1 when the last scrape could read the database, else 0.');

  // What this process did.
  readonly statusChanges = this.counter('stylegraph_run_status_changes_total', 'Runs that entered a status in this process (QUEUED: created here).', ['status']);
  readonly queueWait = this.histogram('stylegraph_queue_wait_seconds', 'Time from a run\'s creation to its start, observed when a run starts in this process.', [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]);
  readonly runDuration = this.histogram('stylegraph_run_duration_seconds', 'Time from a run\'s start to its end, by final status, observed when it ends in this process.', [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 10800], ['status']);
  readonly stepDuration = this.histogram('stylegraph_step_duration_seconds', 'Duration of one optimisation step, by TensorFlow.js backend.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ['backend']);
  readonly epochDuration = this.histogram('stylegraph_epoch_duration_seconds', 'Duration of one epoch as its engine thread measured it (a job\'s first epoch includes its set-up), by TensorFlow.js backend.', [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600], ['backend']);
  readonly engineTensors = this.gauge('stylegraph_engine_tensors', 'Tensors held by each engine thread\'s TensorFlow.js engine (tf.memory().numTensors).', ['thread', 'backend']);
  readonly engineTensorBytes = this.gauge('stylegraph_engine_tensor_bytes', 'Bytes of the tensors held by each engine thread (tf.memory().numBytes).', ['thread', 'backend']);
  readonly subscriptionsOpen = this.gauge('stylegraph_subscriptions_open', 'runEvents subscriptions open on this server.');
  readonly eventsSent = this.counter('stylegraph_subscription_events_sent_total', 'Run events handed to subscribers.');
  readonly eventsDropped = this.counter(
    'stylegraph_subscription_events_dropped_total',
    'Run events meant for a subscriber that never reached it, by reason (slow: shed because it fell behind; closed: still queued when it left).',
    ['reason'],
  );
  readonly httpRequests = this.counter('stylegraph_http_requests_total', 'HTTP requests answered, by method, route and status.', ['method', 'route', 'status']);
  readonly httpDuration = this.histogram('stylegraph_http_request_duration_seconds', 'Time to answer an HTTP request, by method and route.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], ['method', 'route']);
  readonly retentionRemoved = this.counter('stylegraph_retention_removed_total', 'What retention removed: runs, previews (epoch preview images dropped) and images.', ['kind']);

  constructor(private readonly prisma: PrismaClient | undefined, options: { processMetrics?: boolean } = {}) {
    // Process memory, CPU, event loop lag, heap (process_*, nodejs_*).
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    for (const status of Object.values(RunStatus)) {
      this.runs.set({ status }, 0);
      this.statusChanges.inc({ status }, 0);
    }
    for (const reason of ['slow', 'closed']) this.eventsDropped.inc({ reason }, 0);
    for (const kind of ['runs', 'previews', 'images']) this.retentionRemoved.inc({ kind }, 0);
  }

  /** The text a scrape gets: the database gauges are read first (a database that does not answer leaves them as they were). */
  async scrape(onDatabaseError?: (err: unknown) => void): Promise<string> {
    try {
      await withTimeout(this.readDatabase(), DATABASE_SCRAPE_TIMEOUT_MS, 'reading the metrics from the database');
      this.databaseUp.set(1);
    } catch (err) {
      this.databaseUp.set(0);
      onDatabaseError?.(err);
    }
    return this.registry.metrics();
  }

  private async readDatabase(): Promise<void> {
    if (!this.prisma) throw new Error('these metrics have no database');
    const [byStatus, oldest, images] = await Promise.all([
      this.prisma.run.groupBy({ by: ['status'], _count: { _all: true } }),
      this.prisma.run.findFirst({ where: { status: 'QUEUED' }, orderBy: { createdAt: 'asc' }, select: { createdAt: true } }),
      this.prisma.image.aggregate({ _count: { _all: true }, _sum: { byteSize: true } }),
    ]);
    const counts = new Map(byStatus.map((row) => [row.status, row._count._all]));
    for (const status of Object.values(RunStatus)) this.runs.set({ status }, counts.get(status) ?? 0);
    this.queueLength.set(counts.get('QUEUED') ?? 0);
    this.queueOldestWait.set(oldest ? Math.max(0, (Date.now() - oldest.createdAt.getTime()) / 1000) : 0);
    this.imagesStored.set(images._count._all);
    this.imagesStoredBytes.set(images._sum.byteSize ?? 0);
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, buckets: number[], labelNames: L[] = []): Histogram<L> {
    return new Histogram({ name, help, buckets, labelNames, registers: [this.registry] });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}
