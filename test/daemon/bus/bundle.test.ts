// The program that ships is dist/domud.cjs, the daemon bundled by esbuild
// (scripts/bundle.mjs), not the sources the other suites run. Check that
// what it serves and enforces is still exactly the checked-in XML, which it
// reads from data/dbus as the sources do. CI builds before it tests.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { PACKAGE_ROOT } from '../../../src/dev/sandbox.js';
import { startSandbox } from '../../support/daemon.js';
import { Client, DOMAIN_IFACE, MANAGER, MANAGER_IFACE, errorOf, variant } from './fixtures/client.js';

const PROGRAM = join(PACKAGE_ROOT, 'dist', 'domud.cjs');
const INTRO = 'org.freedesktop.DBus.Introspectable';

const element = (iface: string) => /<interface name="[^"]+">[\s\S]*?<\/interface>/.exec(readFileSync(join(PACKAGE_ROOT, 'data', 'dbus', `${iface}.xml`), 'utf8'))![0];

t.test('the bundled daemon serves and enforces the checked-in contract', async (t) => {
  t.ok(existsSync(PROGRAM), `${PROGRAM} exists (run npm run build first)`);
  const s = await startSandbox(t, { entry: PROGRAM, nodeArgs: [] });
  const c = await Client.connect(t, s.address);

  const [dpath] = await c.manager('CreateDomain', 'sa{sv}', ['web', { memory: variant('u', 96) }]);
  t.ok((await c.call(MANAGER, INTRO, 'Introspect'))[0].includes(element(MANAGER_IFACE)), 'Manager.xml, byte for byte');
  t.ok((await c.call(dpath, INTRO, 'Introspect'))[0].includes(element(DOMAIN_IFACE)), 'Domain.xml, byte for byte');
  t.equal(await c.prop(dpath, DOMAIN_IFACE, 'MemoryMiB'), 96);

  // Signatures come from the contract too.
  t.equal(await errorOf(c.manager('StartDomain', 'u', [7])), 'org.freedesktop.DBus.Error.InvalidArgs');
  t.equal(await errorOf(c.call(dpath, DOMAIN_IFACE, 'Shutdown', 's', ['now'])), 'org.freedesktop.DBus.Error.InvalidArgs');
  t.equal(await errorOf(c.manager('Reboot')), 'org.freedesktop.DBus.Error.UnknownMethod');
  t.same(await c.manager('DestroyDomain', 's', ['web']), []);
});

t.test('the program is one file that runs by itself', async (t) => {
  const r = spawnSync(process.execPath, [PROGRAM, '--version'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^domud \d+\.\d+\.\d+/);
  t.ok(readFileSync(PROGRAM, 'utf8').startsWith('#!/usr/bin/env node\n'), 'it starts with #!, so the .deb keeps it executable');
});
