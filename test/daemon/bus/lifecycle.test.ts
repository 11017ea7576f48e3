// The daemon end to end on a real bus: every lifecycle method of the
// contract through busctl, with real routes in a network namespace.
import t from 'tap';

import { startSandbox } from '../../support/daemon.js';

const M = ['org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager'];

for (const flavour of ['xl', 'xm'] as const) {
  t.test(`lifecycle with the ${flavour} simulator`, async (t) => {
    const s = await startSandbox(t, { flavour });
    const call = (member: string, ...args: string[]) => s.busctl(['--json=short', 'call', ...M, member, ...args]);
    const json = async (member: string, ...args: string[]) => {
      const r = await call(member, ...args);
      t.equal(r.code, 0, `${member} ${args.join(' ')}: ${r.stderr}`);
      return (r.stdout.trim() === '' ? { type: '', data: [] } : JSON.parse(r.stdout)) as { type: string; data: unknown[] };
    };
    const prop = async (path: string, iface: string, name: string) => {
      const r = await s.busctl(['--json=short', 'get-property', 'org.domud.Domud1', path, iface, name]);
      t.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { data: unknown }).data;
    };
    const routes = async () => JSON.parse((await s.ip(['-j', 'route', 'show'])).stdout) as Array<{ dst: string; dev: string; prefsrc?: string }>;

    t.equal(await prop(M[1]!, M[2]!, 'Network'), '172.20.216.0/24');
    t.equal(await prop(M[1]!, M[2]!, 'Dom0Address'), '172.20.216.1');
    t.equal(await prop(M[1]!, M[2]!, 'Toolstack'), flavour);
    t.equal(await prop(M[1]!, M[2]!, 'LeasesTotal'), 253);
    t.equal(await prop(M[1]!, M[2]!, 'LeasesInUse'), 0);
    t.equal(await prop(M[1]!, M[2]!, 'ForwardingEnabled'), false);

    const created = await json('CreateDomain', 'sa{sv}', 'web-1', '2', 'memory', 'u', '96', 'vcpus', 'u', '2');
    t.same(created, { type: 'o', data: ['/org/domud/Domud1/domain/web_2d1'] });
    const path = '/org/domud/Domud1/domain/web_2d1';
    const D = 'org.domud.Domud1.Domain';
    t.equal(await prop(path, D, 'Name'), 'web-1');
    t.equal(await prop(path, D, 'Address'), '172.20.216.2');
    t.equal(await prop(path, D, 'MemoryMiB'), 96);
    t.equal(await prop(path, D, 'VCpus'), 2);
    t.match(await prop(path, D, 'State'), /^(running|blocked)$/);
    const id = (await prop(path, D, 'DomainId')) as number;
    t.ok(id > 0, 'a domain id');
    t.equal(await prop(path, D, 'Vif'), `vif${id}.0`);
    t.match(await prop(path, D, 'MacAddress'), /^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
    t.equal(await prop(M[1]!, M[2]!, 'LeasesInUse'), 1);

    if (s.netns) {
      const r = (await routes()).find((x) => x.dst === '172.20.216.2');
      t.same(r && { dev: r.dev, src: r.prefsrc }, { dev: `vif${id}.0`, src: '172.20.216.1' }, 'the host route on the vif');
    }

    const list = (await json('ListDomains')).data as [Array<[string, number, string, string, string]>];
    t.equal(list[0].length, 1);
    const [row] = list[0];
    t.same([row![0], row![1], row![3], row![4]], ['web-1', id, '172.20.216.2', path]);
    t.match(row![2], /^(running|blocked)$/, 'a running state');
    const leases = (await json('ListLeases')).data[0] as Array<[string, string, string, number]>;
    t.equal(leases.length, 1);
    t.same(leases[0]!.slice(0, 2), ['172.20.216.2', 'web-1']);
    t.same(await json('GetDomain', 's', 'web-1'), { type: 'o', data: [path] });

    // Shut down and wait: stopped, route gone, lease kept.
    await json('ShutdownDomain', 'sa{sv}', 'web-1', '1', 'wait', 'b', 'true');
    t.equal(await prop(path, D, 'State'), 'stopped');
    t.equal(await prop(path, D, 'DomainId'), -1);
    t.equal(await prop(path, D, 'Vif'), '');
    if (s.netns) t.notOk((await routes()).some((x) => x.dst === '172.20.216.2'), 'route removed');
    t.equal(await prop(M[1]!, M[2]!, 'LeasesInUse'), 1, 'the lease is kept');

    // Start again: same address.
    await json('StartDomain', 's', 'web-1');
    t.match(await prop(path, D, 'State'), /^(running|blocked)$/);
    t.equal(await prop(path, D, 'Address'), '172.20.216.2');
    const id2 = (await prop(path, D, 'DomainId')) as number;
    t.ok(id2 > id, 'a new domain id, as Xen gives');
    if (s.netns) t.ok((await routes()).some((x) => x.dst === '172.20.216.2' && x.dev === `vif${id2}.0`), 'route back on the new vif');

    // The domain object's own methods.
    const dcall = (member: string, ...args: string[]) => s.busctl(['call', 'org.domud.Domud1', path, D, member, ...args]);
    t.equal((await dcall('Shutdown', 'a{sv}', '2', 'wait', 'b', 'true', 'timeout', 'u', '10')).code, 0);
    t.equal(await prop(path, D, 'State'), 'stopped');
    t.equal((await dcall('Start')).code, 0);
    t.match(await prop(path, D, 'State'), /^(running|blocked)$/);

    // Destroy: gone, route gone, lease released.
    await json('DestroyDomain', 's', 'web-1');
    t.same((await json('ListDomains')).data, [[]]);
    t.same((await json('ListLeases')).data, [[]]);
    t.equal(await prop(M[1]!, M[2]!, 'LeasesInUse'), 0);
    if (s.netns) t.notOk((await routes()).some((x) => x.dst.startsWith('172.20.216.')), 'no route left in the range');
    const gone = await s.busctl(['get-property', 'org.domud.Domud1', path, D, 'Name']);
    t.not(gone.code, 0);
    t.match(gone.stderr, /No object at path|Unknown object/);

    if (s.netns) t.equal((await s.exec('ip', ['netns', 'exec', s.netns, 'cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '0');
  });
}

t.test('errors of the contract', async (t) => {
  const s = await startSandbox(t, {});
  const err = async (member: string, args: string[], name: string, text?: RegExp) => {
    const r = await s.busctl(['call', ...M, member, ...args]);
    t.not(r.code, 0, `${member} ${args.join(' ')} fails`);
    // busctl prints the message only; the error name is checked with gdbus below.
    if (text) t.match(r.stderr, text, `${member}: ${name}`);
    const g = await s.exec('gdbus', [
      'call',
      '--address',
      s.address,
      '--dest',
      'org.domud.Domud1',
      '--object-path',
      '/org/domud/Domud1',
      '--method',
      `org.domud.Domud1.Manager.${member}`,
      ...gdbusArgs(args),
    ]);
    t.match(g.stderr, new RegExp(name.replace(/\./g, '\\.')), `${member} answers ${name}`);
  };
  const P = 'org.domud.Domud1.Error.';
  await err('CreateDomain', ['sa{sv}', 'bad/name', '0'], `${P}InvalidName`, /Invalid domain name/);
  await err('CreateDomain', ['sa{sv}', 'DOMAIN-0', '0'], `${P}InvalidName`, /reserved/);
  await err('CreateDomain', ['sa{sv}', '1234', '0'], `${P}InvalidName`, /would be read as a\s+domain id/);
  await err('CreateDomain', ['sa{sv}', 'a', '1', 'colour', 's', 'red'], `${P}InvalidArgument`, /Unknown option "colour"/);
  await err('CreateDomain', ['sa{sv}', 'a', '1', 'memory', 's', '128'], `${P}InvalidArgument`, /must be of D-Bus type u/);
  await err('CreateDomain', ['sa{sv}', 'a', '1', 'memory', 'u', '1'], `${P}InvalidArgument`, /between 16 and/);
  await err('CreateDomain', ['sa{sv}', 'a', '1', 'kernel', 's', 'vmlinuz'], `${P}InvalidArgument`, /absolute path/);
  await err('CreateDomain', ['sa{sv}', 'a', '1', 'mac', 's', '01:00:5e:00:00:01'], `${P}InvalidArgument`, /multicast/);
  await err('CreateDomain', ['sa{sv}', 'a', '1', 'address', 's', '172.20.216.1'], `${P}AddressUnavailable`);
  await err('CreateDomain', ['sa{sv}', 'a', '1', 'address', 's', '10.1.2.3'], `${P}AddressUnavailable`);
  await err('CreateDomain', ['sa{sv}', 'a', '1', 'address', 's', '172.20.216.255'], `${P}AddressUnavailable`);
  await err('CreateDomain', ['sa{sv}', 'a', '1', 'extra', 's', 'caf\u00e9'], `${P}InvalidArgument`);
  await err('StartDomain', ['s', 'nosuch'], `${P}NoSuchDomain`, /No domain "nosuch"/);
  await err('GetDomain', ['s', 'nosuch'], `${P}NoSuchDomain`);
  await err('DestroyDomain', ['s', 'nosuch'], `${P}NoSuchDomain`);
  await err('ShutdownDomain', ['sa{sv}', 'nosuch', '0'], `${P}NoSuchDomain`);
  // The domain is looked up before its options are read, as machined does.
  await err('ShutdownDomain', ['sa{sv}', 'nosuch', '1', 'wait', 's', 'yes'], `${P}NoSuchDomain`);
  t.same(JSON.parse((await s.busctl(['--json=short', 'call', ...M, 'ListLeases'])).stdout).data, [[]], 'nothing was leased');

  t.equal((await s.busctl(['call', ...M, 'CreateDomain', 'sa{sv}', 'a', '1', 'address', 's', '172.20.216.77'])).code, 0);
  await err('CreateDomain', ['sa{sv}', 'a', '0'], `${P}DomainExists`, /already exists/);
  await err('CreateDomain', ['sa{sv}', 'b', '1', 'address', 's', '172.20.216.77'], `${P}AddressUnavailable`);
  await err('StartDomain', ['s', 'a'], `${P}AlreadyRunning`);
  await err('ShutdownDomain', ['sa{sv}', 'a', '1', 'wait', 's', 'yes'], `${P}InvalidArgument`);
  t.equal((await s.busctl(['call', ...M, 'ShutdownDomain', 'sa{sv}', 'a', '1', 'wait', 'b', 'true'])).code, 0);
  await err('ShutdownDomain', ['sa{sv}', 'a', '0'], `${P}NotRunning`);

  // Protocol errors: a wrong signature is InvalidArgs, not UnknownMethod.
  const wrong = await s.busctl(['call', ...M, 'StartDomain', 'u', '7']);
  t.match(wrong.stderr, /takes arguments \(s\), not \(u\)/);
  const unknown = await s.busctl(['call', ...M, 'Reboot', 's', 'a']);
  t.match(unknown.stderr, /no method Reboot/);
  const ro = await s.busctl(['set-property', 'org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager', 'Network', 's', '10.0.0.0/24']);
  t.match(ro.stderr, /read-only/);
});

/** busctl-style arguments to gdbus's GVariant text. */
function gdbusArgs(args: string[]): string[] {
  const [sig, ...rest] = args;
  const out: string[] = [];
  let i = 0;
  for (const part of sig!.match(/a\{sv\}|./g)!) {
    if (part === 's') out.push(JSON.stringify(rest[i++]));
    else if (part === 'u') out.push(`uint32 ${rest[i++]}`);
    else {
      const n = Number(rest[i++]);
      const kv: string[] = [];
      for (let k = 0; k < n; k++) {
        const key = rest[i++]!;
        const t = rest[i++]!;
        const v = rest[i++]!;
        kv.push(`${JSON.stringify(key)}: <${t === 's' ? JSON.stringify(v) : t === 'u' ? `uint32 ${v}` : v}>`);
      }
      out.push(`{${kv.join(', ')}}`);
    }
  }
  return out;
}


