// Who may change domains, as the bus says who calls: root; members of
// Group=; else whoever a polkit authority on the bus authorizes; reads need
// nothing. Callers are real processes under another uid (setpriv).
import { execFile } from 'node:child_process';
import t from 'tap';
import type { Sandbox } from '../../../src/dev/sandbox.js';
import { startSandbox } from '../../support/daemon.js';
import { TestAuthority, polkitPolicy } from '../../support/polkit.js';
import { Client, MANAGER, MANAGER_IFACE, NAME } from './fixtures/client.js';

const NOBODY = 65534;
const USERS_GID = 100; // 'users' on Debian
const E = 'org.freedesktop.DBus.Error.';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command as uid/gid `uid`, with exactly the supplementary groups given. */
function as(uid: number, groups: number[], cmd: string, args: string[]): Promise<Result> {
  const g = groups.length === 0 ? ['--clear-groups'] : [`--groups=${groups.join(',')}`];
  return new Promise((resolve) => {
    execFile('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, ...g, cmd, ...args], { timeout: 30_000, env: { PATH: process.env.PATH, HOME: '/nonexistent' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr });
    });
  });
}

/** gdbus call as a user: its stderr names the D-Bus error. */
function gdbus(s: Sandbox, uid: number, groups: number[], method: string, args: string[], opts: { interactive?: boolean; path?: string } = {}) {
  return as(uid, groups, 'gdbus', [
    'call',
    '--address',
    s.address,
    '--dest',
    NAME,
    '--object-path',
    opts.path ?? MANAGER,
    ...(opts.interactive ? ['--interactive'] : []),
    '--method',
    method,
    ...args,
  ]);
}

function busctl(s: Sandbox, uid: number, groups: number[], args: string[]) {
  return as(uid, groups, 'busctl', [`--address=${s.address}`, ...args]);
}

const M = (member: string) => `${MANAGER_IFACE}.${member}`;

t.test('Polkit=no: root may, others may read only', async (t) => {
  const s = await startSandbox(t, {});
  const c = await Client.connect(t, s.address);
  await c.manager('CreateDomain', 'sa{sv}', ['vm', {}]);

  // Reads need nothing.
  const get = await busctl(s, NOBODY, [], ['--json=short', 'get-property', NAME, MANAGER, MANAGER_IFACE, 'LeasesInUse']);
  t.same(JSON.parse(get.stdout || '{}'), { type: 'u', data: 1 }, `property as nobody: ${get.stderr}`);
  const all = await busctl(s, NOBODY, [], ['--json=short', 'call', NAME, MANAGER, 'org.freedesktop.DBus.Properties', 'GetAll', 's', MANAGER_IFACE]);
  t.equal(all.code, 0, `GetAll as nobody: ${all.stderr}`);
  const list = await busctl(s, NOBODY, [], ['--json=short', 'call', NAME, MANAGER, MANAGER_IFACE, 'ListDomains']);
  t.equal((JSON.parse(list.stdout) as { data: unknown[][][] }).data[0]![0]![0], 'vm', 'ListDomains as nobody');
  const leases = await busctl(s, NOBODY, [], ['--json=short', 'call', NAME, MANAGER, MANAGER_IFACE, 'ListLeases']);
  t.equal(leases.code, 0, 'ListLeases as nobody');
  const gd = await busctl(s, NOBODY, [], ['call', NAME, MANAGER, MANAGER_IFACE, 'GetDomain', 's', 'vm']);
  t.equal(gd.stdout.trim(), 'o "/org/domud/Domud1/domain/vm"', 'GetDomain as nobody');
  const intro = await gdbus(s, NOBODY, [], 'org.freedesktop.DBus.Introspectable.Introspect', []);
  t.match(intro.stdout, /org\.domud\.Domud1\.Manager/, 'introspection as nobody');
  const om = await gdbus(s, NOBODY, [], 'org.freedesktop.DBus.ObjectManager.GetManagedObjects', []);
  t.match(om.stdout, /'\/org\/domud\/Domud1\/domain\/vm'/, 'GetManagedObjects as nobody');

  // Changes are refused, whatever the call, and nothing changes.
  const denied = async (method: string, args: string[], path?: string) => {
    const r = await gdbus(s, NOBODY, [], method, args, { path });
    t.not(r.code, 0, `${method} refused`);
    t.match(r.stderr, `${E}AccessDenied`, `${method}: AccessDenied`);
    t.match(r.stderr, /uid 65534 may not change domains: only root may/);
  };
  await denied(M('CreateDomain'), ['evil', '{}']);
  await denied(M('StartDomain'), ['vm']);
  await denied(M('ShutdownDomain'), ['vm', '{}']);
  await denied(M('DestroyDomain'), ['vm']);
  await denied('org.domud.Domud1.Domain.Destroy', [], '/org/domud/Domud1/domain/vm');
  await denied('org.domud.Domud1.Domain.Shutdown', ['{}'], '/org/domud/Domud1/domain/vm');
  const bc = await busctl(s, NOBODY, [], ['call', NAME, MANAGER, MANAGER_IFACE, 'DestroyDomain', 's', 'vm']);
  t.match(bc.stderr, /Access denied/, 'busctl shows AccessDenied as such');
  const [rows] = await c.manager('ListDomains');
  t.same(
    rows.map((r: unknown[]) => r[0]),
    ['vm'],
    'nothing was created or destroyed',
  );
  t.match(await c.prop('/org/domud/Domud1/domain/vm', 'org.domud.Domud1.Domain', 'State'), /^(running|blocked)$/, 'vm still runs');

  // Root may: the same calls through busctl as uid 0.
  const sh = await busctl(s, 0, [], ['call', NAME, MANAGER, MANAGER_IFACE, 'ShutdownDomain', 'sa{sv}', 'vm', '1', 'wait', 'b', 'true']);
  t.equal(sh.code, 0, `root shuts down: ${sh.stderr}`);
  const st = await busctl(s, 0, [], ['call', NAME, MANAGER, MANAGER_IFACE, 'StartDomain', 's', 'vm']);
  t.equal(st.code, 0, `root starts: ${st.stderr}`);
  const de = await busctl(s, 0, [], ['call', NAME, MANAGER, MANAGER_IFACE, 'DestroyDomain', 's', 'vm']);
  t.equal(de.code, 0, `root destroys: ${de.stderr}`);
});

t.test('Group= and polkit', async (t) => {
  const dir = await import('node:fs').then((fs) => fs.mkdtempSync('/tmp/domud-authz-'));
  t.teardown(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
  const s = await startSandbox(t, { config: { Daemon: { Group: 'users', Polkit: 'yes' } }, policies: [polkitPolicy(dir)] });
  const authority = await TestAuthority.start(s.address);
  t.teardown(() => authority.stop());

  // A member of Group= may, and polkit is never asked.
  const member = await busctl(s, NOBODY, [USERS_GID], ['call', NAME, MANAGER, MANAGER_IFACE, 'CreateDomain', 'sa{sv}', 'grp', '0']);
  t.equal(member.code, 0, `a member of users creates: ${member.stderr}`);
  const mdestroy = await gdbus(s, NOBODY, [USERS_GID], 'org.domud.Domud1.Domain.Destroy', [], { path: '/org/domud/Domud1/domain/grp' });
  t.equal(mdestroy.code, 0, `a member of users destroys through the domain object: ${mdestroy.stderr}`);
  t.same(authority.questions, [], 'members of Group are not asked about');

  // Root: never asks polkit either.
  const c = await Client.connect(t, s.address);
  await c.manager('CreateDomain', 'sa{sv}', ['vm', {}]);
  t.same(authority.questions, [], 'root is not asked about');

  // A non-member: polkit decides.
  authority.answer = 'yes';
  const yes = await busctl(s, NOBODY, [], ['--allow-interactive-authorization=no', 'call', NAME, MANAGER, MANAGER_IFACE, 'ShutdownDomain', 'sa{sv}', 'vm', '1', 'wait', 'b', 'true']);
  t.equal(yes.code, 0, `polkit yes: ${yes.stderr}`);
  t.equal(authority.questions.length, 1, 'one question');
  const q = authority.questions[0]!;
  t.equal(q.action, 'org.domud.domud1.manage-domains');
  t.equal(q.subject[0], 'system-bus-name');
  t.match(q.subject[1].name?.value, /^:1\.[0-9]+$/, 'the subject is the caller\'s unique name');
  t.not(q.subject[1].name?.value, c.name);
  t.same(q.details, { verb: 'shutdown', domain: 'vm' });
  t.equal(q.flags, 0, 'the call did not allow interaction');

  authority.questions.length = 0;
  authority.answer = 'challenge';
  const ch = await gdbus(s, NOBODY, [], M('StartDomain'), ['vm']);
  t.match(ch.stderr, `${E}InteractiveAuthorizationRequired`, 'challenge without the flag');
  t.match(ch.stderr, /allow-interactive-authorization/, 'the message says how to allow it');
  t.equal(authority.questions[0]?.flags, 0);
  const chb = await busctl(s, NOBODY, [], ['--allow-interactive-authorization=no', 'call', NAME, MANAGER, MANAGER_IFACE, 'StartDomain', 's', 'vm']);
  t.match(chb.stderr, /Authentication is required/, 'busctl without interaction');
  t.match(await c.prop('/org/domud/Domud1/domain/vm', 'org.domud.Domud1.Domain', 'State'), 'stopped', 'nothing started');

  authority.questions.length = 0;
  const chi = await busctl(s, NOBODY, [], ['--allow-interactive-authorization=yes', 'call', NAME, MANAGER, MANAGER_IFACE, 'StartDomain', 's', 'vm']);
  t.equal(chi.code, 0, `challenge with the flag (the authority "authenticates"): ${chi.stderr}`);
  t.equal(authority.questions[0]?.flags, 1, 'AllowUserInteraction passed on');
  t.same(authority.questions[0]?.details, { verb: 'start', domain: 'vm' });
  const gi = await gdbus(s, NOBODY, [], M('ShutdownDomain'), ['vm', '{"wait": <true>}'], { interactive: true });
  t.equal(gi.code, 0, `gdbus --interactive: ${gi.stderr}`);
  t.equal(authority.questions[1]?.flags, 1);

  authority.answer = 'no';
  const no = await gdbus(s, NOBODY, [], M('CreateDomain'), ['other', '{}']);
  t.match(no.stderr, `${E}AccessDenied`, 'polkit no');
  t.match(no.stderr, /not authorized by polkit/);
  t.same(authority.questions.at(-1)?.details, { verb: 'create', domain: 'other' });

  authority.answer = 'error';
  const err = await gdbus(s, NOBODY, [], M('DestroyDomain'), ['vm']);
  t.match(err.stderr, `${E}AccessDenied`, 'polkit failing means deny');
  t.match(err.stderr, /polkit could not be asked/);

  // A member of another group is no member of Group.
  authority.answer = 'no';
  const other = await gdbus(s, NOBODY, [NOBODY], M('DestroyDomain'), ['vm']);
  t.match(other.stderr, `${E}AccessDenied`, 'a non-member group');

  // No authority on the bus at all: deny.
  authority.stop();
  const none = await gdbus(s, NOBODY, [], M('DestroyDomain'), ['vm']);
  t.match(none.stderr, `${E}AccessDenied`, 'no polkit means deny');
  const [rows] = await c.manager('ListDomains');
  t.same(
    rows.map((r: unknown[]) => r[0]),
    ['vm'],
    'refused calls changed nothing',
  );
  // Root still may.
  await c.manager('DestroyDomain', 's', ['vm']);
  t.same((await c.manager('ListDomains'))[0], []);
});
