// Test helpers around bin/xm-sim: a fresh state directory per test and a
// direct way to run the simulator (for control commands and checks).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIM = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/xm-sim');

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

interface Teardown {
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
export function sim(env: Record<string, string>, args: string[], argv0 = SIM): Promise<SimResult> {
  return new Promise((res) => {
    execFile(argv0, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env } }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      res({ status, stdout, stderr });
    });
  });
}

/** A guest config in the common subset, enough for the simulator. */
export function guestConfig(name: string, extra = ''): string {
  return [
    `name = "${name}"`,
    'memory = 64',
    'vcpus = 1',
    'kernel = "/boot/vmlinuz-test"',
    'vif = [ "mac=00:16:3e:00:00:01,ip=172.20.216.2,script=vif-route" ]',
    extra,
  ].join('\n') + '\n';
}
