// Runs domuctl as a child the way a user would, but through tap's loader
// (process.execArgv) so that TypeScript and coverage work.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from '../../src/dev/sandbox.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DOMUCTL = join(ROOT, 'src', 'cli', 'domuctl.ts');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function argv(args: readonly string[]): string[] {
  return [...process.execArgv, DOMUCTL, ...args];
}

export function domuctl(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, argv(args), { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** domuctl against the sandbox's bus, optionally as another user. */
export function on(s: Sandbox, args: readonly string[], opts: { uid?: number } = {}): Promise<Result> {
  if (opts.uid === undefined) return domuctl(['--bus', s.address, ...args]);
  // tap's process hooks put its loader into every child's NODE_OPTIONS, and
  // another user cannot write tap's records: `env -u` drops it for this one.
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  return s.exec('env', ['-u', 'NODE_OPTIONS', process.execPath, ...loader, DOMUCTL, '--bus', s.address, ...args], opts);
}

/** A long-running domuctl (monitor); resolves once it printed `ready` on stderr. */
export async function background(args: readonly string[], ready: RegExp): Promise<{ child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, argv(args), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (ready.test(err)) resolve();
    });
    void exit.then((code) => reject(new Error(`exited ${code} before ready: ${err}`)));
  });
  return { child, out: () => out, err: () => err, exit };
}

export async function until(ok: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function sandbox(): Promise<Sandbox> {
  return Sandbox.create({ flavour: 'xl' });
}

/** Starts the built daemon without coverage: it is not what these tests cover. */
export function startDaemon(s: Sandbox): Promise<unknown> {
  const key = '_TAPJS_PROCESSINFO_COVERAGE_';
  const saved = process.env[key];
  process.env[key] = '0'; // tap's spawn hook copies this into the child
  try {
    return s.startDaemon(); // spawns before its first await
  } finally {
    if (saved === undefined) delete process.env[key];
    else process.env[key] = saved;
  }
}
