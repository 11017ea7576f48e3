#!/usr/bin/env node
// `npm start`: the real daemon on a private bus with the simulated toolstack,
// so that a newcomer can talk to it with busctl at once. Ctrl-C removes all.
import { Sandbox } from './sandbox.js';

const s = await Sandbox.create({ flavour: 'xl', config: { Daemon: { LogLevel: 'info', ReconcileSeconds: '5' } } });
const cleanup = async () => {
  await s.stopDaemon('SIGTERM');
  await s.destroy();
  process.exit(0);
};
process.on('SIGINT', () => void cleanup());
process.on('SIGTERM', () => void cleanup());
try {
  await s.startDaemon();
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  await s.destroy();
  process.exit(1);
}
const a = `--address=${s.address}`;
const m = `org.domud.Domud1 /org/domud/Domud1 org.domud.Domud1.Manager`;
process.stdout.write(`domud is running on a private bus, driving the toolstack simulator${s.netns ? ` in network namespace ${s.netns}` : ''}.

Try (as this user):
  busctl ${a} tree org.domud.Domud1
  busctl ${a} introspect org.domud.Domud1 /org/domud/Domud1
  busctl ${a} call ${m} CreateDomain 'sa{sv}' web1 1 memory u 256
  busctl ${a} call ${m} ListDomains
  busctl ${a} get-property org.domud.Domud1 /org/domud/Domud1/domain/web1 org.domud.Domud1.Domain Address Vif State
  busctl ${a} call ${m} ListLeases
  busctl ${a} --json=short call ${m} ListDomains
  busctl ${a} call ${m} ShutdownDomain 'sa{sv}' web1 1 wait b true
  busctl ${a} call ${m} DestroyDomain s web1
  busctl ${a} monitor org.domud.Domud1
  node dist/src/cli/domuctl.js --bus ${s.address} list
${s.netns ? `  ip -n ${s.netns} route          # a host route per running guest, and ip_forward stays 0:\n  ip netns exec ${s.netns} cat /proc/sys/net/ipv4/ip_forward\n` : '  (not root: no network namespace, so creating a guest fails where it installs the route)\n'}
The daemon's log: ${s.logPath}
Ctrl-C stops the daemon and removes the bus, the namespace and ${s.dir}.
`);
