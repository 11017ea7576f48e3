#!/usr/bin/env node
// `npm start`: the real daemon on a private bus with the simulated toolstack,
// so that a newcomer can talk to it with busctl at once. Whatever ends it
// (Ctrl-C, SIGTERM, the terminal closing, npm itself ending) removes all it
// made: the daemon, the bus, the network namespace and the /tmp folder.
// `npm start -- --with-image` also builds a small image (with the stand-in
// for debootstrap that the sandbox's daemon runs) for guests made from it.
import { spawn } from 'node:child_process';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from './sandbox.js';

const USAGE = 'usage: npm start [-- --with-image]';
const options = process.argv.slice(2);
if (options.some((o) => o !== '--with-image')) {
  process.stderr.write(`npm start: unknown option ${JSON.stringify(options.find((o) => o !== '--with-image'))}\n${USAGE}\n`);
  process.exit(2);
}
const withImage = options.includes('--with-image');
// domuctl beside this file: dist/src/cli/domuctl.js, or the source under a TypeScript loader.
const here = fileURLToPath(import.meta.url);
const DOMUCTL = join(dirname(here), '..', 'cli', `domuctl${extname(here)}`);

const sandbox = Sandbox.create({ flavour: 'xl', config: { Daemon: { LogLevel: 'info', ReconcileSeconds: '5' } } });

let stopping: Promise<never> | undefined;
/** Stops the daemon, removes the sandbox (once made) and exits; once, whoever asks first. */
function stop(code: number): Promise<never> {
  stopping ??= (async () => {
    const s = await sandbox.catch(() => null);
    if (s) {
      await s.stopDaemon('SIGTERM');
      await s.destroy();
    }
    process.exit(code);
  })();
  return stopping;
}

// SIGHUP is the terminal closing: it goes to the whole foreground process
// group, the bus and the daemon included, and left both running when the
// demo died of it. Handlers go in before anything is made, so that a signal
// during the set-up still finds everything to remove.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));
// npm forwards SIGINT and SIGTERM to the script (which execs the demo, as
// the `sh -c` it runs in would die of them without passing them on), and
// nothing else: when npm dies of another signal, or is killed, the demo only
// sees its parent go. Being reparented is the sign.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 200).unref();
// A closed terminal fails every write (EIO): that must not cut the clean-up short.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const fail = (e: unknown): Promise<never> => {
  process.stderr.write(`${(e as Error).message}\n`);
  return stop(1);
};
const s = await sandbox.catch(fail);
await s.startDaemon().catch(fail);
const domuctl = `node ${DOMUCTL} --bus ${s.address}`;
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
  ${domuctl} list
${s.netns ? `  ip -n ${s.netns} route          # a host route per running guest, and ip_forward stays 0:\n  ip netns exec ${s.netns} cat /proc/sys/net/ipv4/ip_forward\n` : '  (not root: no network namespace, so creating a guest fails where it installs the route)\n'}
The daemon's log: ${s.logPath}
Ctrl-C (or closing the terminal) stops the daemon and removes the bus, the namespace and ${s.dir}.
`);

if (withImage) {
  // What a user would type, shown and run: the build's progress bar is domuctl's.
  const argv = [DOMUCTL, '--bus', s.address, 'image', 'create', 'demo', '--size', '256M'];
  process.stdout.write(`\nBuilding an image (the stand-in for debootstrap makes a tiny tree): node ${argv.join(' ')}\n`);
  const status = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, ...argv], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', () => resolve(null));
    child.on('close', resolve);
  });
  if (status !== 0) await fail(new Error(`npm start: building the demo image failed (domuctl exit status ${status})`));
  process.stdout.write(`The image "demo" is ready. A guest from it, with its own copy of the disk and your key for root:
  ${domuctl} create web2 --image demo --disk-size 512M --ssh-key ~/.ssh/id_ed25519.pub
  ${domuctl} image list
`);
}
