// Runs one toolstack command: an argument vector (never a shell), a clean
// environment, bounded output, and a deadline enforced with SIGTERM and then
// SIGKILL on the whole process group (xl forks helpers).
import { spawn } from 'node:child_process';
import { ToolstackFailedError, ToolstackMissingError, ToolstackTimeoutError } from './errors.js';

export const CLEAN_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunOptions {
  timeoutMs: number;
  /** between SIGTERM and SIGKILL */
  killGraceMs: number;
  /** bytes kept per stream; the rest is read and dropped */
  maxOutput: number;
  env: Readonly<Record<string, string>>;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
}

/** The environment a toolstack call gets: a fixed PATH and C locale, plus `extra`. */
export function cleanEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { PATH: CLEAN_PATH, LANG: 'C', LC_ALL: 'C', ...extra };
}

class Capture {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push = (b: Buffer): void => {
    const room = this.max - this.size;
    if (b.length > room) {
      this.truncated = true;
      if (room > 0) this.chunks.push(b.subarray(0, room));
      this.size = this.max;
      return;
    }
    this.chunks.push(b);
    this.size += b.length;
  };
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export function run(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const argv = [command, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a kill reaches its children too
      shell: false,
    });
    const out = new Capture(opts.maxOutput);
    const err = new Capture(opts.maxOutput);
    child.stdout.on('data', out.push);
    child.stderr.on('data', err.push);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => {
        signalGroup('SIGKILL');
        // A process that left the group may still hold our pipes; stop
        // waiting for it, or 'close' would never come.
        child.stdout.destroy();
        child.stderr.destroy();
      }, opts.killGraceMs);
    }, opts.timeoutMs);
    const done = () => {
      clearTimeout(timer);
      clearTimeout(killTimer);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      done();
      if (e.code === 'ENOENT') reject(new ToolstackMissingError(command, 'no such file'));
      else if (e.code === 'EACCES') reject(new ToolstackMissingError(command, 'not executable'));
      /* c8 ignore next */ else reject(new ToolstackFailedError(argv, null, e.message));
    });
    child.on('close', (status, signal) => {
      done();
      if (timedOut) {
        reject(new ToolstackTimeoutError(argv, opts.timeoutMs));
        return;
      }
      resolve({ status, signal, stdout: out.text(), stderr: err.text(), truncated: out.truncated || err.truncated });
    });
  });
}
