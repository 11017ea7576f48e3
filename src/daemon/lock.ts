// One daemon per state directory. The lock is an exclusive SQLite lock on
// <state>/domud.lock: a POSIX record lock underneath, which the kernel drops
// when the process dies, so a SIGKILLed daemon never leaves a stale lock.
import Database from 'better-sqlite3';
import { join } from 'node:path';

export class StateLockedError extends Error {
  readonly code = 'StateLocked';
}

export interface StateLock {
  release(): void;
}

export function lockStateDirectory(dir: string): StateLock {
  const db = new Database(join(dir, 'domud.lock'), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      throw new StateLockedError(`another domud is already running on ${dir}; stop it first (systemctl stop domud)`);
    }
    throw e;
  }
  return {
    release() {
      db.exec('COMMIT');
      db.close();
    },
  };
}
