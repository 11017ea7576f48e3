// Chooses the program (Command=auto|xm|xl|/abs/path) and which of the two it
// is, and returns the driver for it.
import { accessSync, constants, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { classify } from './classify.js';
import { CliToolstack } from './driver.js';
import { ConfigValueError, ToolstackMissingError } from './errors.js';
import { parseList } from './list.js';
import { cleanEnv, run } from './run.js';
import type { Toolstack, ToolstackKind } from './types.js';

export interface OpenOptions {
  /** `auto` (xl if on PATH, else xm), `xm`, `xl`, or an absolute path */
  command: string;
  /** per call */
  timeoutMs: number;
  /** calls for different domains at once; default 4 */
  maxParallel?: number;
  /** added to the clean environment (PATH=/usr/sbin:/usr/bin:/sbin:/bin, LC_ALL=C); its PATH is also where auto/xm/xl are looked for */
  env?: Record<string, string>;
  /** which CLI a path is; default: its basename when that is xm or xl, else asked (see detectKind) */
  flavour?: ToolstackKind;
  /** between SIGTERM and SIGKILL; default 2000 */
  killGraceMs?: number;
  /** bytes of output kept per stream; default 1 MiB */
  maxOutput?: number;
}

// Synchronous on purpose: a few stat calls, and the daemon's first `list`
// then starts before its service modules take the thread, rather than after
// the thread pool's answer waited for them.
function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function which(name: string, path: string): string | undefined {
  for (const dir of path.split(':')) {
    if (!dir.startsWith('/')) continue; // a relative PATH entry depends on the cwd
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/**
 * Which CLI a program is, by asking it for `list`: xl's header has TABs
 * before State and Time(s), xm's (every version) has spaces only.
 */
export async function detectKind(command: string, timeoutMs: number, env: Readonly<Record<string, string>>): Promise<ToolstackKind> {
  const r = await run(command, ['list'], { timeoutMs, killGraceMs: 1000, maxOutput: 1 << 20, env });
  if (r.status !== 0) throw classify([command, 'list'], r.status, r.stderr, r.stdout);
  parseList(r.stdout); // it must be a list at all
  return /^Name[^\n]*\t/m.test(r.stdout) ? 'xl' : 'xm';
}

export async function openToolstack(opts: OpenOptions): Promise<Toolstack> {
  const env = cleanEnv(opts.env);
  const c = opts.command;
  let command: string | undefined;
  let kind = opts.flavour;
  if (c === 'auto' || c === 'xm' || c === 'xl') {
    const names: ToolstackKind[] = c === 'auto' ? ['xl', 'xm'] : [c];
    for (const name of names) {
      command = which(name, env.PATH!);
      if (command) {
        kind ??= name;
        break;
      }
    }
    if (!command) throw new ToolstackMissingError(c, `${c === 'auto' ? 'neither xl nor xm' : c} found on ${env.PATH}`);
  } else if (c.startsWith('/')) {
    if (!isExecutable(c)) throw new ToolstackMissingError(c, 'no executable file there');
    command = c;
    const base = basename(c);
    if (base === 'xm' || base === 'xl') kind ??= base;
  } else {
    throw new ConfigValueError('Command', `${JSON.stringify(c)} is not auto, xm, xl or an absolute path`);
  }
  kind ??= await detectKind(command, opts.timeoutMs, env);
  return new CliToolstack({
    kind,
    command,
    timeoutMs: opts.timeoutMs,
    killGraceMs: opts.killGraceMs ?? 2000,
    maxOutput: opts.maxOutput ?? 1 << 20,
    maxParallel: opts.maxParallel ?? 4,
    env,
  });
}
