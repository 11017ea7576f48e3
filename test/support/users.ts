// Throwaway Unix users and groups for tests that call as real users (needs
// root). Each is made with useradd/groupadd and removed when the test ends;
// names carry a random tag, so that runs never meet.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 90_000, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs a shadow tool (useradd, userdel, ...), again while another process
 * holds the password or group file's lock: other tests and engineers add
 * users on the same machine.
 */
async function shadow(cmd: string, args: readonly string[]): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await run(cmd, args);
    if (r.code === 0) return;
    if (!/lock|try again/i.test(r.stderr) || i >= 40) throw new Error(`${cmd} ${args.join(' ')}: status ${r.code}: ${r.stderr.trim()}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** A tag for this run's names: useradd allows 32 characters, keep them short. */
export function tag(): string {
  return `dm${randomBytes(3).toString('hex')}`;
}

/** A system group, removed after the test. */
export async function throwawayGroup(t: Teardown, name: string): Promise<string> {
  await shadow('groupadd', ['--system', name]);
  t.teardown(() => shadow('groupdel', [name]));
  return name;
}

/** A system user without a home or a shell, in `groups`; removed (with its own group) after the test. */
export async function throwawayUser(t: Teardown, name: string, groups: readonly string[] = []): Promise<string> {
  await shadow('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', ...(groups.length ? ['--groups', groups.join(',')] : []), name]);
  t.teardown(() => shadow('userdel', [name]));
  return name;
}

/** Runs a command as `user` (runuser: its own uid, primary group and supplementary groups). */
export function runAs(user: string, cmd: string, args: readonly string[]): Promise<Result> {
  return run('runuser', ['-u', user, '--', cmd, ...args], { PATH: process.env.PATH, HOME: '/nonexistent', LANG: 'C.UTF-8' });
}
