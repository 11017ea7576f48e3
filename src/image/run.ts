// Runs one tool of a build or a clone: an argument vector (never a shell), a
// fixed PATH and C locale, its own process group (debootstrap forks dpkg,
// tar and maintainer scripts; a cancel must reach them all), output read
// line by line, and the last lines kept for the error message.
import { spawn } from 'node:child_process';
import { ImageCancelledError, ImageFailedError } from './errors.js';

export const TOOL_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const TAIL_LINES = 15;

export interface ToolOptions {
  /** the step's name, for errors */
  step: string;
  signal?: AbortSignal | undefined;
  /** added to the clean environment */
  env?: Readonly<Record<string, string>> | undefined;
  cwd?: string | undefined;
  /** written to its stdin (else stdin is /dev/null) */
  input?: string | undefined;
  /** each line of stdout and stderr, as it comes */
  onLine?: ((line: string) => void) | undefined;
  /** between SIGTERM and SIGKILL of the group on cancel */
  killGraceMs?: number | undefined;
}

export interface ToolResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** the last lines of stdout and stderr together */
  tail: string[];
  /** some line said ENOSPC in the words every libc tool uses */
  noSpace: boolean;
}

/**
 * The tools run with the umask a distribution's own install has: what
 * debootstrap and the maintainer scripts create without a mode of their own
 * (/etc/passwd, home directories) must come out as on any Debian system,
 * whatever the daemon's own umask (UMask=0077 in its unit).
 */
export const TOOL_UMASK = 0o022;

/**
 * Node's spawn has no umask option; the child takes the process's at fork,
 * which spawn does before it returns, so the process's is set around it.
 */
function withUmask<T>(mask: number, fn: () => T): T {
  const old = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

/** Output kept whole, for the tools whose answer is their output (debugfs cat); bounded anyway. */
const MAX_STDOUT = 1 << 20;

export function runTool(command: string, args: readonly string[], opts: ToolOptions): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new ImageCancelledError(opts.step));
      return;
    }
    const child = withUmask(TOOL_UMASK, () =>
      spawn(command, args, {
        env: { PATH: TOOL_PATH, LANG: 'C', LC_ALL: 'C', ...opts.env },
        cwd: opts.cwd,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
      }),
    );
    // A tool that exits without reading all of it must not crash us with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input);
    const tail: string[] = [];
    let stdout = '';
    let stderr = '';
    let noSpace = false;
    const line = (l: string) => {
      if (l.includes('No space left on device')) noSpace = true;
      tail.push(l);
      if (tail.length > TAIL_LINES) tail.shift();
      opts.onLine?.(l);
    };
    const reader = (isStdout: boolean) => {
      let partial = '';
      return (b: Buffer) => {
        const s = b.toString('utf8');
        if (isStdout && stdout.length < MAX_STDOUT) stdout += s;
        if (!isStdout && stderr.length < MAX_STDOUT) stderr += s;
        const parts = (partial + s).split('\n');
        partial = parts.pop()!;
        for (const p of parts) line(p);
      };
    };
    child.stdout!.on('data', reader(true));
    child.stderr!.on('data', reader(false));
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const group = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // the group is gone already
      }
    };
    const onAbort = () => {
      cancelled = true;
      group('SIGTERM');
      killTimer = setTimeout(() => group('SIGKILL'), opts.killGraceMs ?? 2000);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new ImageFailedError(opts.step, `cannot run ${command}: ${e.code === 'ENOENT' ? 'not installed' : e.message}`));
    });
    child.on('close', (status, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      // Whatever the leader did, nothing of the group may outlive the step.
      if (cancelled) group('SIGKILL');
      if (cancelled) reject(new ImageCancelledError(opts.step));
      else resolve({ status, signal, stdout, stderr, tail, noSpace });
    });
  });
}

/** The result, or ImageFailedError naming the step, its exit status and its last lines. */
export function mustSucceed(r: ToolResult, step: string): ToolResult {
  if (r.status !== 0) {
    throw new ImageFailedError(step, r.signal !== null ? `killed by ${r.signal}` : `exit status ${r.status}`, r.tail);
  }
  return r;
}
