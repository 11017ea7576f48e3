// A sandboxed bus on which tests call peers of their own. The sandbox's bus
// denies method calls by default, like a system bus; this one allows them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox } from '../../src/dev/sandbox.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const ALLOW_CALLS = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><policy context="default"><allow send_type="method_call"/></policy></busconfig>
`;

export async function peerBus(t: Teardown): Promise<Sandbox> {
  const dir = mkdtempSync(join(tmpdir(), 'domud-peer-bus-'));
  const policy = join(dir, 'allow-calls.conf');
  writeFileSync(policy, ALLOW_CALLS);
  const s = await Sandbox.create({ netns: false, policies: [policy] });
  t.teardown(async () => {
    await s.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}
