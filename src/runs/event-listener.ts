import type { Logger } from '../observability/logger.js';
import pg from 'pg';
import type { SqlSession } from '../storage/sql-session.js';
import type { RunEventBus } from './events.js';
import type { RunStep } from './types.js';

/** The channel the `runs` table's trigger announces each committed event on (migration worker_leases). */
export const RUN_EVENTS_CHANNEL = 'stylegraph_run_events';
/** The channel the workers announce their runs' steps on (announceRunStep): nothing is stored for them. */
export const RUN_STEPS_CHANNEL = 'stylegraph_run_steps';

/**
 * Announces a step to every process listening. The payload is the step
 * itself, a few numbers (far below NOTIFY's 8000-byte limit), since there is
 * no row to read it back from. Sent after the worker's earlier epochs have
 * committed, it is announced after them.
 */
export async function announceRunStep(sql: SqlSession, step: RunStep): Promise<void> {
  await sql.query('SELECT pg_notify($1, $2)', [RUN_STEPS_CHANNEL, JSON.stringify(step)]);
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

/**
 * Receives PostgreSQL's announcements of committed run events and hands them
 * to the bus, which reads the events themselves from the tables (the payload
 * is only `{ runId, seq }`, far below NOTIFY's 8000-byte limit); and the
 * workers' announcements of steps, handed on as they come.
 *
 * On a connection of its own: LISTEN belongs to one session, and a pooled
 * connection is handed to other queries. A lost connection is opened again
 * with a growing delay (up to 10 s); announcements made meanwhile are lost,
 * so once it listens again the bus catches up from the database (the steps
 * missed stay lost: later ones and the epochs tell the same progress).
 */
export class RunEventListener {
  private client: pg.Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private closed = false;

  private constructor(private readonly url: string, private readonly bus: RunEventBus, private readonly logger: Logger) {}

  /** Resolves once it listens; a server that cannot be reached at start-up is an error. */
  static async start(url: string, bus: RunEventBus, logger: Logger): Promise<RunEventListener> {
    const listener = new RunEventListener(url, bus, logger);
    await listener.listen();
    return listener;
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async listen(): Promise<void> {
    // Keep-alive probes notice a server that vanished without closing the connection (a lost machine).
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    client.on('notification', (message) => this.onNotification(message));
    client.on('error', (err) => {
      this.logger.warn({ error: err.message }, 'the run event connection failed; reconnecting');
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_EVENTS_CHANNEL}; LISTEN ${RUN_STEPS_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners();
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    this.retryMs = FIRST_RETRY_MS;
  }

  private reconnect(lost: pg.Client): void {
    if (this.closed || this.client !== lost) return; // stopping, or already being replaced
    this.client = undefined;
    lost.removeAllListeners();
    lost.on('error', () => {}); // it may still report its end
    void lost.end().catch(() => {});
    const attempt = () => {
      this.retryTimer = undefined;
      if (this.closed) return;
      this.listen().then(
        () => (this.closed ? this.stop() : this.bus.catchUp()),
        (err: Error) => {
          this.logger.warn({ error: err.message, retryMs: this.retryMs }, 'reconnecting the run event connection failed; retrying');
          this.retryTimer = setTimeout(attempt, this.retryMs);
          this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
        },
      );
    };
    this.retryTimer = setTimeout(attempt, this.retryMs);
  }

  private onNotification(message: pg.Notification): void {
    if (!message.payload) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message.payload);
    } catch {
      // Anyone with access to the database may NOTIFY on these channels: a stray payload must not end the process.
      this.logger.warn({ channel: message.channel }, 'ignored a notification that is not JSON');
      return;
    }
    if (message.channel === RUN_EVENTS_CHANNEL) {
      const { runId, seq } = payload as { runId: string; seq: number };
      this.bus.announced(runId, seq);
    } else if (message.channel === RUN_STEPS_CHANNEL) {
      this.bus.stepAnnounced(payload as RunStep);
    }
  }
}
