/**
 * Places where this process can be made to die at once, as kill -9 would,
 * named by STYLEGRAPH_CRASH_AT: so that tests (and anyone checking a
 * deployment) can prove that a crash exactly there loses nothing. Unset in
 * every real deployment.
 */
export type CrashPoint =
  /** A run's row is written, its job not yet; the transaction is still open. */
  | 'run-stored'
  /** A run and its job are committed; the client has not had its answer. */
  | 'run-queued';

const ARMED = process.env.STYLEGRAPH_CRASH_AT;

export function crashPoint(point: CrashPoint): void {
  if (ARMED === point) process.kill(process.pid, 'SIGKILL');
}
