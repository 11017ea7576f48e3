// What the daemon serves for introspection is the checked-in contract
// (data/dbus/*.xml) byte for byte, plus the standard interfaces, with child
// nodes that make `busctl tree` work, and paths label-escaped as machined's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseStringPromise } from 'xml2js';
import { PACKAGE_ROOT } from '../../../src/dev/sandbox.js';
import { startSandbox } from '../../support/daemon.js';
import { CallError, Client, DOMAIN_IFACE, MANAGER, MANAGER_IFACE, NAME, errorOf, variant } from './fixtures/client.js';

const INTRO = 'org.freedesktop.DBus.Introspectable';
const PEER = 'org.freedesktop.DBus.Peer';

/** The <interface> element of a contract file, exactly as written. */
function contractElement(iface: string): string {
  const xml = readFileSync(join(PACKAGE_ROOT, 'data', 'dbus', `${iface}.xml`), 'utf8');
  const m = /<interface name="[^"]+">[\s\S]*?<\/interface>/.exec(xml);
  if (!m) throw new Error(`no interface element in ${iface}.xml`);
  return m[0];
}

const interfacesOf = async (xml: string) => {
  const doc = (await parseStringPromise(xml)) as { node: { interface?: Array<{ $: { name: string } }>; node?: Array<{ $: { name: string } }> } };
  return { ifaces: (doc.node.interface ?? []).map((i) => i.$.name).sort(), children: (doc.node.node ?? []).map((n) => n.$.name) };
};

t.test('introspection, tree, peer and label escaping', async (t) => {
  const s = await startSandbox(t, {});
  const c = await Client.connect(t, s.address);
  const introspect = async (path: string) => (await c.call(path, INTRO, 'Introspect'))[0] as string;

  const [dpath] = await c.manager('CreateDomain', 'sa{sv}', ['1db-x.y', {}]);
  t.equal(dpath, '/org/domud/Domud1/domain/_31db_2dx_2ey', 'a leading digit, "-" and "." are escaped');
  t.same(await c.manager('GetDomain', 's', ['1db-x.y']), [dpath]);
  const [rows] = await c.manager('ListDomains');
  t.equal(rows[0][4], dpath, 'ListDomains gives the same path');
  t.equal(await c.prop(dpath, DOMAIN_IFACE, 'Name'), '1db-x.y', 'the object at the escaped path is the domain');

  // The manager.
  const mxml = await introspect(MANAGER);
  t.ok(mxml.includes(contractElement(MANAGER_IFACE)), 'the manager serves Manager.xml\'s interface element byte for byte');
  t.match(mxml, /^<!DOCTYPE node PUBLIC "-\/\/freedesktop\/\/DTD D-BUS Object Introspection 1\.0\/\/EN"/);
  const m = await interfacesOf(mxml);
  t.same(m.ifaces, [MANAGER_IFACE, 'org.freedesktop.DBus.Introspectable', 'org.freedesktop.DBus.ObjectManager', PEER, 'org.freedesktop.DBus.Properties'].sort());
  t.same(m.children, ['domain', 'image', 'job']);

  // A domain.
  const dxml = await introspect(dpath);
  t.ok(dxml.includes(contractElement(DOMAIN_IFACE)), 'a domain serves Domain.xml\'s interface element byte for byte');
  const d = await interfacesOf(dxml);
  t.same(d.ifaces, [DOMAIN_IFACE, 'org.freedesktop.DBus.Introspectable', PEER, 'org.freedesktop.DBus.Properties'].sort(), 'no ObjectManager on a domain');
  t.same(d.children, []);

  // The ancestors and the domain directory, so that tools can walk the tree.
  t.same((await interfacesOf(await introspect('/'))).children, ['org']);
  t.same((await interfacesOf(await introspect('/org'))).children, ['domud']);
  t.same((await interfacesOf(await introspect('/org/domud'))).children, ['Domud1']);
  t.same((await interfacesOf(await introspect('/org/domud/Domud1/domain'))).children, ['_31db_2dx_2ey']);

  const tree = await s.busctl(['tree', '--list', NAME]);
  t.equal(tree.code, 0, tree.stderr);
  t.same(
    tree.stdout.trim().split('\n').sort(),
    ['/', '/org', '/org/domud', '/org/domud/Domud1', '/org/domud/Domud1/domain', dpath, '/org/domud/Domud1/image', '/org/domud/Domud1/job'].sort(),
    'busctl tree',
  );

  // busctl introspect reads the same members with their signatures.
  const bi = await s.busctl(['introspect', NAME, MANAGER, MANAGER_IFACE]);
  t.equal(bi.code, 0, bi.stderr);
  t.match(bi.stdout, /\.CreateDomain\s+method\s+sa\{sv\}\s+o\s+-/);
  t.match(bi.stdout, /\.ListDomains\s+method\s+-\s+a\(sisso\)\s+-/);
  t.match(bi.stdout, /\.LeasesInUse\s+property\s+u\s+1\s+emits-change/);
  t.match(bi.stdout, /\.Network\s+property\s+s\s+"172\.20\.216\.0\/24"\s+const/);
  t.match(bi.stdout, /\.DomainNew\s+signal\s+so\s+-\s+-/);
  const bd = await s.busctl(['introspect', NAME, dpath, DOMAIN_IFACE]);
  t.match(bd.stdout, /\.Name\s+property\s+s\s+"1db-x\.y"\s+const/);
  t.match(bd.stdout, /\.State\s+property\s+s\s+"\w+"\s+emits-change/);

  // gdbus introspect shows argument names and the annotations.
  const gi = await s.exec('gdbus', ['introspect', '--address', s.address, '--dest', NAME, '--object-path', MANAGER]);
  t.equal(gi.code, 0, gi.stderr);
  t.match(gi.stdout, /CreateDomain\(in\s+s name,\s+in\s+a\{sv\} options,\s+out o domain\);/);
  t.match(gi.stdout, /ListLeases\(out a\(ssst\) leases\);/);
  t.match(gi.stdout, /LeaseAcquired\(s address,\s+s name\);/);
  t.match(gi.stdout, /@org\.freedesktop\.DBus\.Property\.EmitsChangedSignal\("true"\)\s+readonly u LeasesInUse = 1;/);
  t.match(gi.stdout, /GetManagedObjects\(out a\{oa\{sa\{sv\}\}\} object_paths_interfaces_and_properties\);/);
  const gd = await s.exec('gdbus', ['introspect', '--address', s.address, '--dest', NAME, '--object-path', dpath]);
  t.match(gd.stdout, /Shutdown\(in\s+a\{sv\} options\);/);
  t.match(gd.stdout, /@org\.freedesktop\.DBus\.Property\.EmitsChangedSignal\("const"\)\s+readonly s Address = '172\.20\.216\.2';/);
  const rec = await s.exec('gdbus', ['introspect', '--address', s.address, '--dest', NAME, '--object-path', '/', '--recurse', '--only-properties']);
  t.match(rec.stdout, /node \/org\/domud\/Domud1\/domain\/_31db_2dx_2ey/, 'gdbus walks the tree down to the domain');

  // Peer on every object.
  const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
  for (const p of [MANAGER, dpath]) {
    t.same(await c.call(p, PEER, 'Ping'), [], `Ping ${p}`);
    t.same(await c.call(p, PEER, 'GetMachineId'), [machineId], `GetMachineId ${p}`);
  }
  const ping = await s.busctl(['call', NAME, MANAGER, PEER, 'Ping']);
  t.equal(ping.code, 0, 'busctl Ping');
  const mid = await s.busctl(['--json=short', 'call', NAME, dpath, PEER, 'GetMachineId']);
  t.same(JSON.parse(mid.stdout), { type: 's', data: [machineId] });

  // Paths that are not objects.
  const unknown = async (path: string) => {
    const e = (await c.call(path, INTRO, 'Introspect').then(
      () => null,
      (x: unknown) => x,
    )) as CallError | null;
    t.equal(e?.errorName, 'org.freedesktop.DBus.Error.UnknownObject', `${path} is no object`);
  };
  await unknown('/org/domud/Domud1/domain/nosuch');
  await unknown('/org/domud/Domud1/domain/1db_2dx_2ey'); // unescaped leading digit: no escape makes this
  await unknown('/org/domud/Domud1/domain/_31db_2Dx_2ey'); // upper-case hex: not canonical
  await unknown('/org/domud/Domud1/domain/_zz');
  await unknown('/org/domud/Domud1/other');
  await unknown('/org/domud/Domud1/image/nosuch');
  await unknown('/org/domud/Domud1/job/1');
  await unknown('/org/domud/Domud1/job/01'); // not how a job number is written
  await unknown('/org/domud/Domud1/job/x');
  t.equal(await errorOf(c.call(dpath, DOMAIN_IFACE, 'Reboot')), 'org.freedesktop.DBus.Error.UnknownMethod');
  t.equal(await errorOf(c.call(dpath, 'org.example.Nope', 'Frob')), 'org.freedesktop.DBus.Error.UnknownInterface');
  t.equal(await errorOf(c.call(dpath, PEER, 'Ping', 's', ['x'])), 'org.freedesktop.DBus.Error.InvalidArgs');

  // After a destroy the object and its node are gone.
  await c.manager('DestroyDomain', 's', ['1db-x.y']);
  await unknown(dpath);
  t.same((await interfacesOf(await introspect('/org/domud/Domud1/domain'))).children, []);
});

t.test('image and job objects serve their contract elements, and are escaped like domains', async (t) => {
  const s = await startSandbox(t, {});
  const c = await Client.connect(t, s.address);
  await c.subscribeAll();
  // A build that hangs, so that its job stays to be looked at.
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_HANG: 'release' });
  const opts = { suite: variant('s', 'bookworm'), mirror: variant('s', 'http://deb.debian.org/debian'), size: variant('t', BigInt(64 * 1024 * 1024)) };
  const [job] = await c.manager('CreateImage', 'sa{sv}', ['1base-x.y', opts]);
  const [ipath] = await c.manager('GetImage', 's', ['1base-x.y']);
  t.equal(ipath, '/org/domud/Domud1/image/_31base_2dx_2ey');
  const introspect = async (path: string) => (await c.call(path, INTRO, 'Introspect'))[0] as string;
  t.ok((await introspect(ipath)).includes(contractElement('org.domud.Domud1.Image')), 'an image serves Image.xml\'s element');
  t.ok((await introspect(job)).includes(contractElement('org.domud.Domud1.Job')), 'a job serves Job.xml\'s element');
  t.same((await interfacesOf(await introspect('/org/domud/Domud1/image'))).children, ['_31base_2dx_2ey']);
  t.same((await interfacesOf(await introspect('/org/domud/Domud1/job'))).children, [job.split('/').at(-1)]);
  const gj = await s.exec('gdbus', ['introspect', '--address', s.address, '--dest', NAME, '--object-path', job]);
  t.match(gj.stdout, /Completed\(b success,\s+s message\);/);
  t.match(gj.stdout, /readonly ao Objects = \['\/org\/domud\/Domud1\/image\/_31base_2dx_2ey'\];/);
  await c.call(job, 'org.domud.Domud1.Job', 'Cancel');
  await c.waitFor((x) => x.path === job && x.member === 'Completed', 30_000);
  t.equal(await errorOf(c.call(job, INTRO, 'Introspect')), 'org.freedesktop.DBus.Error.UnknownObject', 'the job is gone');
});
