// Who may build, remove and cancel: the rights of changing domains (root,
// Group=, polkit), except that a job's own starter may cancel it, told by
// the uid the bus gives for the caller against StartedByUID. Reads are
// open. Callers are real processes under other uids (setpriv).
import t from 'tap';
import type { Sandbox } from '../../../src/dev/sandbox.js';
import { startSandbox } from '../../support/daemon.js';
import { Client, MANAGER, NAME, errorOf, eventually } from './fixtures/client.js';

const NOBODY = 65534;
const USERS = 100; // 'users' on Debian
const MiB = 1024 * 1024;
const JOB = 'org.domud.Domud1.Job';
const IMAGE = 'org.domud.Domud1.Image';
const DENIED = 'org.freedesktop.DBus.Error.AccessDenied';

/** gdbus as `uid` with exactly `groups`: its stderr names the D-Bus error. */
function gdbus(s: Sandbox, uid: number, groups: number[], path: string, method: string, args: string[] = []) {
  const g = groups.length === 0 ? ['--clear-groups'] : [`--groups=${groups.join(',')}`];
  return s.exec('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, ...g, 'gdbus', 'call', '--address', s.address, '--dest', NAME, '--object-path', path, '--method', method, ...args]);
}

const OPTS = `{'suite': <'bookworm'>, 'mirror': <'http://deb.debian.org/debian'>, 'size': <uint64 ${64 * MiB}>}`;

t.test('images and jobs: who may', async (t) => {
  const s = await startSandbox(t, { config: { Daemon: { Group: 'users' } } });
  const c = await Client.connect(t, s.address);
  await c.subscribeAll();
  const M = (m: string) => `org.domud.Domud1.Manager.${m}`;

  // Nobody may build; nothing is made.
  const create = await gdbus(s, NOBODY, [], MANAGER, M('CreateImage'), ['base', OPTS]);
  t.match(create.stderr, DENIED, 'CreateImage refused');
  t.match(create.stderr, /uid 65534 may not change domains/);
  t.same(await c.manager('ListImages'), [[]], 'nothing was made');

  // A member of Group= builds; the job says who started it.
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_HANG: 'base' });
  const made = await gdbus(s, NOBODY, [USERS], MANAGER, M('CreateImage'), ['slow', OPTS]);
  t.equal(made.code, 0, `a member of users builds: ${made.stderr}`);
  const job = /objectpath '([^']+)'/.exec(made.stdout)?.[1] ?? '';
  t.match(job, /^\/org\/domud\/Domud1\/job\/\d+$/);
  t.equal(await c.prop(job, JOB, 'StartedByUID'), NOBODY);

  // Reads are open to anyone.
  const list = await s.busctl(['--json=short', 'call', NAME, MANAGER, 'org.domud.Domud1.Manager', 'ListImages'], { uid: NOBODY });
  t.equal(list.code, 0, `ListImages as nobody: ${list.stderr}`);
  t.equal((JSON.parse(list.stdout) as { data: unknown[][][] }).data[0]![0]![0], 'slow');
  const prop = await s.busctl(['get-property', NAME, job, JOB, 'Progress'], { uid: NOBODY });
  t.equal(prop.code, 0, 'a job\'s properties as nobody');

  // Another unprivileged uid may not cancel it, nor remove images.
  t.match((await gdbus(s, 1, [], job, `${JOB}.Cancel`)).stderr, DENIED, 'Cancel by someone else refused');
  t.match((await gdbus(s, 1, [], MANAGER, M('RemoveImage'), ['slow'])).stderr, DENIED, 'RemoveImage refused');
  t.match((await gdbus(s, 1, [], '/org/domud/Domud1/image/slow', `${IMAGE}.Remove`)).stderr, DENIED, 'Image.Remove refused');
  t.equal(await c.prop('/org/domud/Domud1/image/slow', IMAGE, 'State'), 'building', 'still building');

  // Its starter may cancel it, even out of Group= now: the uid is what counts.
  await eventually(async () => (await c.prop(job, JOB, 'Progress')) as number > 0.6, 30_000, 'the build to hang in its base phase');
  const from = c.seen.length;
  const cancel = await gdbus(s, NOBODY, [], job, `${JOB}.Cancel`);
  t.equal(cancel.code, 0, `the starter cancels: ${cancel.stderr}`);
  const done = await c.waitFor((x) => x.path === job && x.member === 'Completed', 30_000, from);
  t.match(done.body, [false, /Cancelled/]);
  t.same(await c.manager('ListImages'), [[]]);
  s.debootstrapEnv({});

  // Root may remove what a member built.
  const ready = await gdbus(s, NOBODY, [USERS], MANAGER, M('CreateImage'), ['base', OPTS]);
  const job2 = /objectpath '([^']+)'/.exec(ready.stdout)?.[1] ?? '';
  await c.waitFor((x) => x.path === job2 && x.member === 'Completed', 60_000);
  t.equal(await errorOf(c.manager('RemoveImage', 's', ['base'])), 'none', 'root removes it');
  t.same(await c.manager('ListImages'), [[]]);
  t.equal(await s.stopDaemon('SIGTERM'), 0, 'a clean stop (its coverage is written)');
});
