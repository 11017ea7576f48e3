// The simulator as root in a fresh network namespace: create makes the
// backend interface vif<domid>.0 (one end of a veth pair), shutdown and
// destroy remove it, so route tests see real interfaces.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openToolstack, ToolstackFailedError, writeGuestConfig } from '../../src/xm/index.js';
import { FLAVOURS, SIM, stateDir } from '../../sim/testing.js';

function ip(...args: string[]): Promise<string> {
  return new Promise((res, rej) => execFile('ip', args, (err, out, stderr) => (err ? rej(new Error(stderr)) : res(out))));
}

async function links(ns: string): Promise<string[]> {
  return (JSON.parse(await ip('-n', ns, '-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname);
}

const root = process.getuid?.() === 0;

t.test('vif<domid>.0 appears on create and goes on destroy and shutdown', { skip: root ? false : 'needs root for ip netns' }, async (t) => {
  const ns = `xmsim-${process.pid}-${Date.now() % 100000}`;
  await ip('netns', 'add', ns);
  t.teardown(() => ip('netns', 'del', ns).catch(() => undefined));
  for (const f of [FLAVOURS[0]!, FLAVOURS[2]!]) {
    const dir = stateDir(t);
    // `ip netns exec NS bin/xm-sim ...` as the command: a wrapper script,
    // since Command= is one path.
    const wrapper = join(dir, 'xm-in-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${SIM} "$@"\n`, { mode: 0o755 });
    const ts = await openToolstack({
      command: wrapper,
      flavour: f.kind,
      timeoutMs: 10_000,
      env: { ...f.env, XMSIM_STATE: dir, XMSIM_VIFS: '1', XMSIM_SHUTDOWN_DELAY_MS: '100' },
    });
    const spec = { name: 'web', memory: 64, vcpus: 1, kernel: '/boot/vmlinuz', disks: [], vif: { mac: '00:16:3e:00:00:05', ip: '172.20.216.5', script: 'vif-route' } };
    await ts.create(await writeGuestConfig(dir, spec));
    const id = await ts.domid('web');
    t.ok((await links(ns)).includes(`vif${id}.0`), `${f.label}: vif${id}.0 is there`);
    await ts.destroy('web');
    t.notOk((await links(ns)).includes(`vif${id}.0`), `${f.label}: destroy removed it`);
    await ts.create(await writeGuestConfig(dir, spec));
    const id2 = await ts.domid('web');
    t.ok((await links(ns)).includes(`vif${id2}.0`));
    await ts.shutdown('web', { wait: true });
    t.notOk((await links(ns)).includes(`vif${id2}.0`), `${f.label}: shutdown removed it`);
    t.same((await links(ns)).filter((l) => l !== 'lo'), [], 'no peer left behind');
    // hotplug failure: the interface name is taken, so create fails and no domain is left
    await ip('-n', ns, 'link', 'add', `vif${id2 + 1}.0`, 'type', 'veth', 'peer', 'name', 'taken0');
    const e = await ts.create(await writeGuestConfig(dir, spec)).catch((e) => e);
    t.type(e, ToolstackFailedError);
    t.match(e.firstLine, f.kind === 'xl' ? /ip link add vif\d+\.0 failed/ : /Hotplug scripts not working/);
    t.notOk((await ts.list()).some((d) => d.name === 'web'));
    await ip('-n', ns, 'link', 'del', `vif${id2 + 1}.0`);
  }
});
