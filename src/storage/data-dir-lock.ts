import fs from 'node:fs';
import path from 'node:path';

/**
 * PGlite gives no error when a second process opens the same data directory;
 * both then write and the cluster is silently corrupted. A lock file holding
 * the owner's pid keeps a second process out. A lock left by a process that
 * no longer exists (kill -9, a crash) is taken over.
 */
export class DataDirBusyError extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`${dataDir} is in use by process ${pid}; stop it or point STYLEGRAPH_DATA_DIR elsewhere`);
    this.name = 'DataDirBusyError';
  }
}

export interface DataDirLock {
  release(): void;
}

const LOCK_FILE = 'stylegraph.pid';

/**
 * Lock files this process holds. A lock naming our own pid that is not in here
 * was left by an earlier process that had the same pid (pid 1 in a container).
 */
const held = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockPath, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, LOCK_FILE);
  // Two rounds: the second follows the removal of a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      held.add(lockPath);
      return {
        release() {
          if (!held.delete(lockPath)) return;
          if (readPid(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readPid(lockPath);
    const busy = owner === process.pid ? held.has(lockPath) : owner !== undefined && isAlive(owner);
    if (busy) throw new DataDirBusyError(dataDir, owner!);
    // Stale (or unreadable, e.g. a writer killed between create and write): take it over.
    fs.rmSync(lockPath, { force: true });
  }
  throw new DataDirBusyError(dataDir, readPid(lockPath) ?? 0);
}
