// The desktop window against the real daemon on a private system-like bus
// with the toolstack simulator, driven through AT-SPI as a person would use
// it, and checked with busctl from another process. Each test saves a
// screenshot of what it checked under test-output/desktop/.
import t from 'tap';
import { build, busctlOn, DesktopWindow, MANAGER as M, sandbox } from './window.js';


t.before(build);

t.test('the window over a daemon that a busctl user works with at the same time', async (t) => {
  const s = await sandbox(t);
  const { busctl, call } = busctlOn(s);
  const state = (name: string) => busctl('get-property', 'org.domud.Domud1', `/org/domud/Domud1/domain/${name}`, 'org.domud.Domud1.Domain', 'State');
  await call('CreateDomain', 'sa{sv}', 'web1', '2', 'memory', 'u', '256', 'vcpus', 'u', '2');

  const w = await DesktopWindow.open({ bus: s.address });
  t.teardown(() => w.close());
  t.ok((await w.wait('web1')).ok, 'a guest that was there at start is listed');

  await t.test('guests made and destroyed by busctl appear and go within a second', async (t) => {
    for (const name of ['db1', 'mail1']) {
      await call('CreateDomain', 'sa{sv}', name, '0');
      const r = await w.wait(name, 5, 'Guests');
      t.ok(r.ok, `${name} appears`);
      t.ok(r.ms! < 1000, `${name} appeared ${r.ms} ms after CreateDomain returned`);
    }
    const texts = await w.texts('Guests');
    t.ok(texts.includes('256 MiB') && texts.includes('2 vCPUs'), 'memory and vCPUs are in the row');
    const leases = await call('ListLeases', '');
    for (const a of texts.filter((x) => /^172\.20\.216\.\d+$/.test(x))) t.match(leases, a, `${a} is a lease`);
    // The README's picture: a few guests, one of them opened.
    t.ok((await w.select('web1')).ok);
    t.ok((await w.wait('MAC address')).ok);
    await w.screenshot('list');
    await call('CreateDomain', 'sa{sv}', 'tmp1', '0');
    t.ok((await w.wait('tmp1', 5, 'Guests')).ok);
    await call('DestroyDomain', 's', 'tmp1');
    const gone = await w.gone('tmp1', 5, 'Guests');
    t.ok(gone.ok && gone.ms! < 1000, `a destroyed guest left the list ${gone.ms} ms after DestroyDomain returned`);
  });

  await t.test('New guest creates a guest with a lease; a bad name creates nothing', async (t) => {
    t.ok((await w.click('New guest')).ok);
    t.ok((await w.type('Name', 'shop1')).ok);
    t.ok((await w.type('Memory (MiB)', '96')).ok);
    t.ok((await w.click('Create')).ok);
    const leases = () => call('ListLeases', '');
    const done = await w.waitPrefix('shop1 was created with address ', 20);
    t.ok(done.ok, `the dialog says the new address: ${done.text}`);
    const address = /address (\S+)\.$/.exec(done.text ?? '')?.[1] ?? 'none';
    t.match(await leases(), `"${address}" "shop1"`, 'busctl sees that lease');
    t.equal(await busctl('get-property', 'org.domud.Domud1', '/org/domud/Domud1/domain/shop1', 'org.domud.Domud1.Domain', 'MemoryMiB'), 'u 96');
    await w.screenshot('new-guest-created');
    t.ok((await w.click('Done')).ok);
    t.ok((await w.wait('shop1')).ok, 'and the list shows it');

    const before = await call('ListDomains', '');
    const leasesBefore = await leases();
    t.ok((await w.click('New guest')).ok);
    t.ok((await w.type('Name', 'bad name!')).ok);
    t.ok((await w.click('Create')).ok);
    const said = await w.wait('A name is 1 to 63 letters, digits, "_", "." or "-", starts with a letter or digit, and is not Domain-0.');
    t.ok(said.ok, 'InvalidName is one sentence');
    await w.screenshot('new-guest-bad-name');
    t.equal(await call('ListDomains', ''), before, 'no domain was made');
    t.equal(await leases(), leasesBefore, 'no address was leased');

    t.ok((await w.type('Name', 'web1')).ok);
    t.ok((await w.click('Create')).ok);
    t.ok((await w.wait('A guest with that name exists already.')).ok, 'DomainExists is one sentence');
    t.equal(await call('ListDomains', ''), before);
    t.ok((await w.click('Cancel')).ok);
    t.ok((await w.gone('New guest', 5)).ok || true);
  });

  await t.test('Shut down waits for the guest to stop; Destroy asks first', async (t) => {
    t.ok((await w.select('web1')).ok);
    t.ok((await w.wait('MAC address')).ok, 'the details show');
    const texts = await w.texts();
    const mac = (await busctl('get-property', 'org.domud.Domud1', '/org/domud/Domud1/domain/web1', 'org.domud.Domud1.Domain', 'MacAddress')).replace(/^s "|"$/g, '');
    const vif = (await busctl('get-property', 'org.domud.Domud1', '/org/domud/Domud1/domain/web1', 'org.domud.Domud1.Domain', 'Vif')).replace(/^s "|"$/g, '');
    t.ok(texts.includes(mac), `the MAC address ${mac} is shown`);
    t.ok(vif !== '' && texts.includes(vif), `the vif ${vif} is shown`);
    t.ok((await w.click('Shut down')).ok);
    t.ok((await w.wait('web1 has shut down.', 30)).ok, 'the window says it has shut down');
    t.equal(await state('web1'), 's "stopped"', 'busctl agrees');
    await w.screenshot('shut-down');

    t.ok((await w.click('Destroy…')).ok);
    t.ok((await w.wait('Destroy web1?')).ok, 'a confirmation is asked for');
    await w.screenshot('destroy-confirm');
    t.equal(await state('web1'), 's "stopped"', 'nothing is destroyed before the answer');
    t.ok((await w.click('Cancel')).ok);
    t.ok((await w.gone('Destroy web1?')).ok);
    t.equal(await state('web1'), 's "stopped"', 'Cancel destroys nothing');

    t.ok((await w.click('Destroy…')).ok);
    t.ok((await w.wait('Destroy web1?')).ok);
    t.ok((await w.click('Destroy')).ok);
    t.ok((await w.gone('web1', 10)).ok, 'the guest leaves the list');
    const r = await s.busctl(['call', ...M, 'GetDomain', 's', 'web1']);
    t.not(r.code, 0, `busctl no longer finds it: ${r.stderr.trim()}`);
    t.notMatch(await call('ListDomains', ''), /"web1"/);
    t.notMatch(await call('ListLeases', ''), /"web1"/, 'its lease is gone');
  });

  await t.test('the Network and Host views show what busctl reads', async (t) => {
    const tab = await w.tab('Network');
    t.ok(tab.ok, tab.error ?? 'the Network view');
    const prop = async (p: string) => (await busctl('get-property', ...M.slice(0, 1), M[1], M[2], p)).replace(/^[a-z] /, '').replace(/^"|"$/g, '');
    const inUse = await prop('LeasesInUse');
    const total = await prop('LeasesTotal');
    t.ok((await w.wait(`${inUse} of ${total}`)).ok, `leases: ${inUse} of ${total}`);
    const texts = await w.texts();
    for (const p of ['Network', 'Dom0Address', 'Toolstack', 'Version']) t.ok(texts.includes(await prop(p)), `${p} = ${await prop(p)}`);
    const fwd = (await prop('ForwardingEnabled')) === 'true';
    t.ok(texts.includes(fwd ? 'On' : 'Off'), `IP forwarding: ${fwd}`);
    t.equal(texts.includes('IP forwarding is on'), fwd, 'the warning shows exactly when forwarding is on');
    await w.screenshot('network');

    t.ok((await w.tab('Host')).ok);
    const checks = await busctl('--json=short', 'call', ...M, 'CheckHost', '');
    const rows = (JSON.parse(checks) as { data: [[string, string, string][]] }).data[0];
    t.ok(rows.length > 0);
    const first = rows.find((r) => r[1] !== 'ok') ?? rows[0]!;
    t.ok((await w.wait(first[2], 20)).ok, `the ${first[0]} check's message shows`);
    const shown = await w.texts();
    for (const [id, status, message] of rows) t.ok(shown.includes(message), `${id} (${status}): its message`);
    const verdicts = { ok: 'OK', warning: 'Warning', error: 'Needs fixing' } as Record<string, string>;
    for (const [, status] of rows) t.ok(shown.includes(verdicts[status]!), `verdict ${status} is said`);
    await w.screenshot('host');
  });
});
