#!/usr/bin/env node
// `npm run desktop`: the window, for a newcomer, in one command. With
// $DOMUD_BUS_ADDRESS (the address `npm start` prints) it opens on that demo
// daemon; otherwise it starts one the same way (a private bus, the toolstack
// simulator), with a few guests to look at, and removes it all when the
// window closes.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'dist', 'desktop', 'main.js');

// Ctrl-C reaches the window too; this process outlives it to clean up.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

function openWindow(address) {
  const gjs = spawn('gjs', ['-m', main, '--bus', address], { stdio: 'inherit' });
  return new Promise((resolve) => {
    gjs.on('error', (e) => {
      process.stderr.write(`npm run desktop: cannot run gjs (${e.message}); install gjs, gir1.2-gtk-4.0 and gir1.2-adw-1\n`);
      resolve(1);
    });
    gjs.on('exit', (code) => resolve(code ?? 1));
  });
}

if (process.env.DOMUD_BUS_ADDRESS) {
  process.exit(await openWindow(process.env.DOMUD_BUS_ADDRESS));
}

const { Sandbox } = await import(join(root, 'dist', 'src', 'dev', 'sandbox.js'));
const s = await Sandbox.create({ flavour: 'xl', config: { Daemon: { LogLevel: 'info', ReconcileSeconds: '5' } } });
let code = 1;
try {
  await s.startDaemon();
  const m = ['call', 'org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager', 'CreateDomain', 'sa{sv}'];
  for (const [name, mem] of [['web1', '256'], ['db1', '512'], ['mail1', '128']]) await s.busctl([...m, name, '1', 'memory', 'u', mem]);
  process.stdout.write(`domud runs on a private bus with the toolstack simulator; the window opens on it.
Another client, from another terminal:
  busctl --address=${s.address} call org.domud.Domud1 /org/domud/Domud1 org.domud.Domud1.Manager CreateDomain 'sa{sv}' app1 0
Closing the window stops the daemon and removes ${s.dir}.
`);
  code = await openWindow(s.address);
} catch (e) {
  process.stderr.write(`${e.message}\n`);
} finally {
  await s.stopDaemon('SIGTERM');
  await s.destroy();
}
process.exit(code);
