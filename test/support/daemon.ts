// Starts a sandboxed daemon from the TypeScript sources, with tap's loader
// and coverage hooks (not its mock hook: loader.ts), and tears it all down when the test ends.
import { join } from 'node:path';
import { PACKAGE_ROOT, Sandbox, type SandboxOptions } from '../../src/dev/sandbox.js';
import { CHILD_NODE_ARGS } from './loader.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export const DAEMON_ENTRY = join(PACKAGE_ROOT, 'src', 'daemon', 'main.ts');

export async function startSandbox(t: Teardown, o: SandboxOptions, start = true): Promise<Sandbox> {
  const s = await Sandbox.create({ entry: DAEMON_ENTRY, nodeArgs: CHILD_NODE_ARGS, ...o });
  t.teardown(() => s.destroy());
  if (start) await s.startDaemon();
  return s;
}
