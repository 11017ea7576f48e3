// For tests that drive bin/xm-sim (any area's): a fresh state directory per
// test, the simulator's flavours, and a direct way to run it (for its
// control commands: fault, crash, vanish, pause, resume, set).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIM = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/xm-sim');

export interface Flavour {
  label: string;
  env: Record<string, string>;
  kind: 'xm' | 'xl';
}

export const FLAVOURS: Flavour[] = [
  { label: 'xm 4.1', kind: 'xm', env: { XMSIM_FLAVOR: 'xm', XMSIM_XM_VERSION: '4.1' } },
  { label: 'xm 3.0.3', kind: 'xm', env: { XMSIM_FLAVOR: 'xm', XMSIM_XM_VERSION: '3.0.3' } },
  { label: 'xl', kind: 'xl', env: { XMSIM_FLAVOR: 'xl' } },
];

export interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** A state directory removed when the test ends. */
export function stateDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'xmsim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface SimResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the simulator directly (no wrapper) with `env` on top of a clean one. */
export function sim(env: Record<string, string>, args: string[]): Promise<SimResult> {
  return new Promise((res) => {
    execFile(SIM, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env } }, (err, stdout, stderr) => {
      // a simulator run always ends with an exit status, never a signal
      res({ status: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}
