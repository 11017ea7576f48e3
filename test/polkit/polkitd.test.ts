// Who may change domains, decided by Debian's real polkitd on the test bus
// (issue #24, item 2). The project's action file is installed where the
// package puts it, the rules are docs/install.md's, as a site would write
// them (with this run's throwaway groups), and every call comes from a real
// process of a throwaway user (runuser): polkitd resolves the caller, reads
// its groups, runs the rules and falls back to the action's defaults, so a
// wrong action id, a file polkitd refuses or a default that does not mean
// what the docs say fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { PACKAGE_ROOT, Sandbox } from '../../src/dev/sandbox.js';
import { builtEntry } from '../robust/support.js';
import { POLKIT_BUS_POLICY, Polkitd, installActionFile, installRules } from '../support/polkit.js';
import { runAs, tag, throwawayGroup, throwawayUser } from '../support/users.js';

const NAME = 'org.domud.Domud1';
const MANAGER = '/org/domud/Domud1';
const IFACE = 'org.domud.Domud1.Manager';
const ACTION = 'org.domud.domud1.manage-domains';
const IAR = 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired';
const DENIED = 'org.freedesktop.DBus.Error.AccessDenied';

const T = tag();
const G = { xen: `${T}x`, lab: `${T}l`, domud: `${T}d` };
const U = { granted: `${T}g`, lab: `${T}b`, other: `${T}o`, member: `${T}m` };

/** docs/install.md's rules, with this run's groups for "xen" and "lab". */
function siteRules(): string {
  const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'install.md'), 'utf8');
  const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('polkit.addRule'));
  if (blocks.length !== 2) throw new Error(`docs/install.md should show two polkit rules, shows ${blocks.length}`);
  const text = blocks.join('\n');
  const ours = text.replaceAll('isInGroup("xen")', `isInGroup("${G.xen}")`).replaceAll('isInGroup("lab")', `isInGroup("${G.lab}")`);
  if (ours.split(T).length !== 3) throw new Error('docs/install.md\'s rules no longer name groups "xen" and "lab"');
  return ours;
}

// Set up by the first test, whose teardown (after every test) removes it all.
let s: Sandbox;
let polkitd: Polkitd;

interface Call {
  method: string;
  args: string[];
  path?: string;
  interactive?: boolean;
}

/** gdbus call as `user`; its stderr names the D-Bus error. Returns 'ok' or the error name and message. */
async function call(user: string, c: Call, timeoutS = 20): Promise<string> {
  const r = await runAs(user, 'gdbus', [
    'call',
    '--address',
    s.address,
    '--dest',
    NAME,
    '--object-path',
    c.path ?? MANAGER,
    '--timeout',
    String(timeoutS),
    ...(c.interactive ? ['--interactive'] : []),
    '--method',
    c.method.includes('.') ? c.method : `${IFACE}.${c.method}`,
    ...c.args,
  ]);
  if (r.code === 0) return 'ok';
  const m = /GDBus\.Error:([\w.]+): ([^\n]*)/.exec(r.stderr);
  return m ? `${m[1]}: ${m[2]}` : `gdbus failed (${r.code}): ${r.stderr.trim()}`;
}

const create = (name: string): Call => ({ method: 'CreateDomain', args: [name, '{}'] });
const destroy = (name: string): Call => ({ method: 'DestroyDomain', args: [name] });

/** The domains as root reads them: name -> state. */
async function domains(): Promise<Record<string, string>> {
  const r = await s.busctl(['--json=short', 'call', NAME, MANAGER, IFACE, 'ListDomains']);
  const rows = (JSON.parse(r.stdout) as { data: Array<Array<[string, number, string]>> }).data[0]!;
  return Object.fromEntries(rows.map(([name, , state]) => [name, state === 'blocked' ? 'running' : state]));
}

async function rootCall(method: string, sig: string, ...args: string[]): Promise<void> {
  const r = await s.busctl(['--timeout=15', 'call', NAME, MANAGER, IFACE, method, sig, ...args]);
  if (r.code !== 0) throw new Error(`root ${method}: ${r.stderr}`);
}

t.test('polkitd decides for callers that are neither root nor in Group=', async (t) => {
  await throwawayGroup(t, G.xen);
  await throwawayGroup(t, G.lab);
  await throwawayGroup(t, G.domud);
  await throwawayUser(t, U.granted, [G.xen]);
  await throwawayUser(t, U.lab, [G.lab]);
  await throwawayUser(t, U.other);
  await throwawayUser(t, U.member, [G.domud]);
  installActionFile(t);
  installRules(t, `50-domud-test-${T}.rules`, siteRules());
  // The daemon transpiled once (test/robust/support.ts): from source, under
  // tap's loader on a busy machine, it may take longer to start than the
  // sandbox waits. The daemon's own authorization tests cover the code in-tree.
  s = await Sandbox.create({ entry: builtEntry(), nodeArgs: [], config: { Daemon: { Group: G.domud, Polkit: 'yes' } }, policies: [POLKIT_BUS_POLICY] });
  t.teardown(() => s.destroy());
  await s.startDaemon();
  polkitd = await Polkitd.start(t, s.address);

  await t.test('polkitd reads the action as the docs say', async (t) => {
    const r = await polkitd.pkaction(['--action-id', ACTION, '--verbose']);
    t.equal(r.code, 0, `pkaction knows ${ACTION}: ${r.stderr}`);
    t.match(r.stdout, /description: +Manage Xen guest domains/);
    t.match(r.stdout, /implicit any: +auth_admin\n/, 'anyone else: an administrator\'s password');
    t.match(r.stdout, /implicit inactive: +auth_admin\n/);
    t.match(r.stdout, /implicit active: +auth_admin_keep\n/, 'active local sessions keep it a while');
    t.match(polkitd.output, /Finished loading, compiling and executing \d+ rules/, 'polkitd ran the rules');
    t.notMatch(polkitd.output, /error/i, `no error in polkitd's output: ${polkitd.output}`);
  });

  await t.test('reads stay open to everyone', async (t) => {
    await rootCall('CreateDomain', 'sa{sv}', 'victim', '0');
    t.equal(await call(U.other, { method: 'ListDomains', args: [] }), 'ok');
    t.equal(await call(U.other, { method: 'GetDomain', args: ['victim'] }), 'ok');
    t.equal(await call(U.other, { method: 'org.freedesktop.DBus.Properties.Get', args: [IFACE, 'LeasesInUse'] }), 'ok');
    t.equal(await call(U.other, { method: 'org.freedesktop.DBus.ObjectManager.GetManagedObjects', args: [] }), 'ok');
  });

  await t.test('the user the rule grants may create, start, shut down and destroy', async (t) => {
    t.equal(await call(U.granted, create('web1')), 'ok', 'CreateDomain');
    t.equal(await call(U.granted, { method: 'ShutdownDomain', args: ['web1', '{"wait": <true>}'] }), 'ok', 'ShutdownDomain');
    t.equal((await domains()).web1, 'stopped');
    t.equal(await call(U.granted, { method: 'StartDomain', args: ['web1'] }), 'ok', 'StartDomain');
    t.equal((await domains()).web1, 'running');
    t.equal(await call(U.granted, { method: 'org.domud.Domud1.Domain.Destroy', args: [], path: `${MANAGER}/domain/web1` }), 'ok', 'Domain.Destroy');
    t.same(await domains(), { victim: 'running' }, 'web1 is gone');
    t.equal(await call(U.granted, create('web2')), 'ok');
    t.equal(await call(U.granted, destroy('web2')), 'ok', 'DestroyDomain');
  });

  await t.test('another user is asked for a password, and nothing changes', async (t) => {
    const before = await domains();
    t.match(await call(U.other, create('intruder')), new RegExp(`^${IAR}: Authentication is required`), 'CreateDomain without interaction');
    t.match(await call(U.other, destroy('victim')), new RegExp(`^${IAR}:`), 'DestroyDomain without interaction');
    t.match(await call(U.other, { method: 'org.domud.Domud1.Domain.Shutdown', args: ['{}'], path: `${MANAGER}/domain/victim` }), new RegExp(`^${IAR}:`), 'Domain.Shutdown');
    // Interaction allowed, but this caller has no polkit agent to ask it: polkitd says no.
    t.match(await call(U.other, { ...create('intruder'), interactive: true }), new RegExp(`^${DENIED}: uid \\d+ is not authorized by polkit`), 'CreateDomain, interactive');
    t.match(await call(U.other, { ...destroy('victim'), interactive: true }), new RegExp(`^${DENIED}:`), 'DestroyDomain, interactive');
    const busctl = await runAs(U.other, 'busctl', [`--address=${s.address}`, '--allow-interactive-authorization=no', 'call', NAME, MANAGER, IFACE, 'DestroyDomain', 's', 'victim']);
    t.match(busctl.stderr, /Authentication is required/, 'busctl says so too');
    t.same(await domains(), before, 'nothing was created, shut down or destroyed');
  });

  await t.test('a rule reads the domain from the details', async (t) => {
    t.equal(await call(U.lab, create('lab-1')), 'ok', 'lab may create lab-1');
    t.equal(await call(U.lab, { method: 'ShutdownDomain', args: ['lab-1', '{"wait": <true>}'] }), 'ok');
    t.equal(await call(U.lab, destroy('lab-1')), 'ok', 'and destroy it');
    t.match(await call(U.lab, create('web3')), new RegExp(`^${IAR}:`), 'but not create web3');
    t.match(await call(U.lab, destroy('victim')), new RegExp(`^${IAR}:`), 'nor destroy victim');
    t.same(await domains(), { victim: 'running' });
  });

  await t.test('root and members of Group= pass without asking polkit', async (t) => {
    // A paused polkitd answers nobody: a call that asked it would wait for
    // domud's polkit timeout (25 s), longer than these callers wait.
    polkitd.pause();
    t.teardown(() => polkitd.resume());
    await rootCall('CreateDomain', 'sa{sv}', 'byroot', '0');
    t.equal(await call(U.member, create('bymember'), 15), 'ok', 'a member of Group= creates');
    t.equal(await call(U.member, destroy('byroot'), 15), 'ok', 'and destroys');
    await rootCall('DestroyDomain', 's', 'bymember');
  });

  await t.test('an authority that does not answer, then none: deny', async (t) => {
    polkitd.pause();
    const started = Date.now();
    const silent = await call(U.granted, create('late'), 60);
    t.match(silent, new RegExp(`^${DENIED}: uid \\d+ may not change domains, and polkit could not be asked: org.freedesktop.PolicyKit1 did not answer`), 'denied once polkit has had its time');
    t.ok(Date.now() - started >= 20_000, `after domud's polkit timeout (${Date.now() - started} ms)`);
    polkitd.resume();
    t.equal(await call(U.granted, create('late')), 'ok', 'answered again once polkitd runs');

    await polkitd.stop();
    t.match(await call(U.granted, destroy('late')), new RegExp(`^${DENIED}: .*polkit could not be asked`), 'no polkitd on the bus');
    t.match(await call(U.other, destroy('late')), new RegExp(`^${DENIED}:`));
    t.same(await domains(), { victim: 'running', late: 'running' }, 'nothing changed');
    polkitd = await Polkitd.start(t, s.address);
    t.equal(await call(U.granted, destroy('late')), 'ok', 'a new polkitd, and the rule applies again');
    await rootCall('DestroyDomain', 's', 'victim');
    t.same(await domains(), {});
  });
});
