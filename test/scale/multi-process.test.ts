import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Role } from '../../src/config.js';
import { freshDatabase, type TestDatabase } from '../helpers/databases.js';

/**
 * Scale-out on the machine's PostgreSQL: two API processes and two worker
 * processes (test/helpers/scale-node.ts) on one database. Runs are started on
 * API B and watched on API A, whose events come from the workers through the
 * database's announcements.
 */

const NODE = path.join(__dirname, '..', 'helpers', 'scale-node.js');
const LEASE_SECONDS = 2;
const POLLING_SECONDS = 1;
/** Every process started, so that a failing test leaves none behind. */
const started: NodeProcess[] = [];

type WireEvent = { runId: string; seq: number; type: 'status' | 'epoch'; status?: string; epoch?: { epoch: number } };
type Line = { ready?: number; started?: string[]; watching?: Record<string, number>; event?: WireEvent; stopped?: boolean };

/** A node of the deployment in a child process; its JSON lines are kept with the time each arrived. */
class NodeProcess {
  readonly lines: { line: Line; at: number }[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly exit: Promise<void>;
  private exited = false;

  private constructor(readonly role: Role, private readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (text) => {
      this.lines.push({ line: JSON.parse(text) as Line, at: Date.now() });
      for (const waiter of [...this.waiters]) waiter();
    });
    this.exit = new Promise((resolve) => child.on('exit', () => {
      this.exited = true;
      for (const waiter of [...this.waiters]) waiter();
      resolve();
    }));
  }

  static async start(role: Role, database: TestDatabase): Promise<NodeProcess> {
    const child = spawn(process.execPath, [NODE, role], {
      env: {
        ...process.env,
        ...database.env,
        STYLEGRAPH_WORKER_LEASE_SECONDS: String(LEASE_SECONDS),
        STYLEGRAPH_QUEUE_POLLING_SECONDS: String(POLLING_SECONDS),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const node = new NodeProcess(role, child);
    started.push(node);
    await node.waitFor((line) => line.ready);
    return node;
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(command: object): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** The first line that `pick` finds something in, waiting for it if need be. */
  waitFor<T>(pick: (line: Line) => T | undefined, timeoutMs = 120_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (const { line } of this.lines) {
          const found = pick(line);
          if (found !== undefined) return done(() => resolve(found));
        }
        if (this.exited) done(() => reject(new Error(`the ${this.role} process ${this.pid} exited`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`the ${this.role} process ${this.pid} did not print what was awaited in ${timeoutMs} ms`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The events of a run this node printed, with when they arrived. */
  events(runId: string): { event: WireEvent; at: number }[] {
    return this.lines.flatMap(({ line, at }) => (line.event?.runId === runId ? [{ event: line.event, at }] : []));
  }

  finished(runId: string): Promise<WireEvent> {
    return this.waitFor((line) => (line.event?.runId === runId && ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(line.event.status ?? '') ? line.event : undefined));
  }

  kill(): Promise<void> {
    this.child.kill('SIGKILL');
    return this.exit;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    await this.exit;
  }
}

function describeEvent(event: WireEvent): string {
  return event.type === 'epoch' ? `epoch ${event.epoch!.epoch}` : event.status!;
}

/** Asserts that a run's events on a node rise one by one; returns them as names. */
function assertInOrder(events: WireEvent[], runId: string): string[] {
  const seqs = events.map((e) => e.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => seqs[0] + i), `run ${runId}: events ${JSON.stringify(seqs)} skip or repeat numbers`);
  return events.map(describeEvent);
}

describe('scaled out on PostgreSQL: two API processes and two workers', () => {
  let database: TestDatabase;
  let sql: pg.Client;
  let apiA: NodeProcess;
  let apiB: NodeProcess;
  const workers: NodeProcess[] = [];

  /** The pid of the worker process that holds (or last held) the run. */
  async function workerPidOf(runId: string): Promise<number> {
    const { rows } = await sql.query<{ workerId: string }>('SELECT "workerId" FROM runs WHERE id = $1', [runId]);
    return Number(rows[0].workerId.split(':').at(-2));
  }

  before(async () => {
    database = await freshDatabase('postgres');
    sql = new pg.Client({ connectionString: database.env.DATABASE_URL });
    await sql.connect();
    [apiA, apiB] = await Promise.all([NodeProcess.start('api', database), NodeProcess.start('api', database)]);
  });

  after(async () => {
    await Promise.all(started.map((node) => node.stop()));
    await sql?.end();
    await database?.drop();
  });

  test('ten runs started on API B are spread over both workers; a subscriber on API A sees every event of each, in order', async () => {
    apiB.send({ start: { maxDim: 24, epochs: 2, stepsPerEpoch: 2 }, count: 10 });
    const ids = await apiB.waitFor((line) => line.started);
    // Subscribed while the runs wait for a worker: every event after QUEUED is live.
    apiA.send({ watch: ids });
    const watching = await apiA.waitFor((line) => line.watching);
    assert.deepEqual(Object.values(watching), ids.map(() => 1));
    workers.push(...await Promise.all([NodeProcess.start('worker', database), NodeProcess.start('worker', database)]));

    await Promise.all(ids.map((id) => apiA.finished(id)));
    for (const id of ids) {
      const events = apiA.events(id).map((e) => e.event);
      assert.deepEqual(assertInOrder(events, id), ['RUNNING', 'epoch 1', 'epoch 2', 'SUCCEEDED'], `run ${id} on API A`);
      assert.equal(events[0].seq, 2);
    }
    const pids: number[] = [];
    for (const id of ids) pids.push(await workerPidOf(id));
    for (const worker of workers) {
      assert.ok(pids.includes(worker.pid), `worker ${worker.pid} optimised none of the runs (${JSON.stringify(pids)})`);
    }
  });

  test('a worker killed with -9 mid-run: the other resumes the run from its checkpoint, each epoch is stored once, API A sees every event in order', async (t) => {
    const epochs = 10;
    apiB.send({ start: { maxDim: 24, epochs, stepsPerEpoch: 4 }, count: 1 });
    // The first test's runs were started ten at once.
    const [id] = await apiB.waitFor((line) => (line.started?.length === 1 ? line.started : undefined));
    apiA.send({ watch: [id] });
    const seqWhenSubscribed = (await apiA.waitFor((line) => line.watching?.[id]))!;

    await apiA.waitFor((line) => (line.event?.runId === id && line.event.epoch?.epoch === 2 ? true : undefined));
    const pid = await workerPidOf(id);
    const doomed = workers.find((worker) => worker.pid === pid)!;
    assert.ok(doomed, `run ${id} is held by worker ${pid}`);
    const killedAt = Date.now();
    await doomed.kill();
    const { rows: [{ currentEpoch: epochAtKill }] } = await sql.query<{ currentEpoch: number }>('SELECT "currentEpoch" FROM runs WHERE id = $1', [id]);
    assert.ok(epochAtKill < epochs, `the run was not finished when its worker was killed (epoch ${epochAtKill})`);

    const final = await apiA.finished(id);
    assert.equal(final.status, 'SUCCEEDED');
    const survivor = workers.find((worker) => worker !== doomed)!;
    assert.equal(await workerPidOf(id), survivor.pid, 'the other worker finished the run');
    const { rows } = await sql.query<{ epoch: number }>('SELECT epoch FROM run_epochs WHERE "runId" = $1 ORDER BY epoch', [id]);
    assert.deepEqual(rows.map((r) => r.epoch), Array.from({ length: epochs }, (_, i) => i + 1), 'every epoch stored once');

    const seen = apiA.events(id);
    const names = assertInOrder(seen.map((e) => e.event), id);
    assert.ok(seen[0].event.seq <= seqWhenSubscribed + 1, 'no event after the subscription is missing');
    assert.equal(names.at(-1), 'SUCCEEDED');
    const seenEpochs = seen.flatMap((e) => (e.event.epoch ? [e.event.epoch.epoch] : []));
    assert.deepEqual(seenEpochs, Array.from({ length: epochs - seenEpochs[0] + 1 }, (_, i) => seenEpochs[0] + i), 'each epoch seen once, in order');

    const resumed = seen.find((e) => e.event.epoch?.epoch === epochAtKill + 1)!;
    t.diagnostic(`killed at epoch ${epochAtKill}; epoch ${epochAtKill + 1} arrived on API A ${((resumed.at - killedAt) / 1000).toFixed(1)} s after the kill (lease ${LEASE_SECONDS} s, polling ${POLLING_SECONDS} s)`);
    // Lease expiry, a heartbeat (a third of it), the queue's polling, the epoch itself: with room for a busy machine.
    assert.ok(resumed.at - killedAt < (LEASE_SECONDS * 4 / 3 + POLLING_SECONDS) * 1000 + 10_000, 'resumed within the bound');
  });
});
