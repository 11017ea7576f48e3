// Routes without the netns option (the daemon's mode on a real dom0): this
// file re-runs itself as a child placed inside a test namespace with
// `ip netns exec`, so `ip` runs without -n and /proc/sys and /sys (which
// `ip netns exec` mounts afresh for the namespace) are used directly.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Routes } from '../../src/net/index.js';
import { CHILD_NODE_ARGS } from '../support/loader.js';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const [vif, address, missing] = process.argv.slice(3) as [string, string, string];
  const routes = new Routes({ range: '172.20.216.0/24', dom0: '172.20.216.1' });
  const result: Record<string, unknown> = {};
  result.forwardingBefore = await routes.forwarding();
  result.vifs = await routes.vifs();
  await routes.up({ vif, address });
  result.reconcile = await routes.reconcile([{ vif, address }]);
  result.missing = await routes.up({ vif: missing, address: '172.20.216.99' }).then(
    () => 'resolved',
    (e: { code: string }) => e.code,
  );
  result.forwardingAfter = await routes.forwarding();
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  const { default: t } = await import('tap');
  const { nsTest } = await import('./netns.js');
  const execFileP = promisify(execFile);

  nsTest(t, 'host mode: ip without -n, /proc/sys directly', async (t, ns) => {
    const vif = await ns.vif(8);
    const child = [process.execPath, ...CHILD_NODE_ARGS, self, '--child', vif, '172.20.216.8', 'vif99.0'];
    const { stdout } = await execFileP('ip', ['netns', 'exec', ns.name, ...child]);
    t.same(JSON.parse(stdout), {
      forwardingBefore: false,
      vifs: [vif],
      reconcile: [],
      missing: 'VifNotFound',
      forwardingAfter: false,
    });
    t.same(await ns.link(vif), { up: true, inet: ['172.20.216.1/32'] });
    t.equal(await ns.proxyArp(vif), '1', 'proxy_arp written through /proc/sys inside the namespace');
    t.same(await ns.vifRoutes(), ['172.20.216.8 vif8.0 172.20.216.1 0']);
  });
}
