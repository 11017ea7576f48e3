// A full disk, said plainly (issue #24): with the state directory, or the
// directory guest configs are written to, on a small tmpfs filled to the
// last page, CreateDomain, StartDomain and DestroyDomain answer
// org.domud.Domud1.Error.NoSpace naming that directory and change nothing:
// the lease database row by row, the state directory's files, the guests and
// the routes are as before. Once space is back the same calls work.
import { join } from 'node:path';
import t from 'tap';
import { Sandbox } from '../../src/dev/sandbox.js';
import { FILLER_NAME, tmpfs, type Tmpfs } from '../support/tmpfs.js';
import { Client, E, builtEntry, dbDump, dbRows, errorName, routes, settle, simList, stateListing, v } from './support.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * A sandbox whose `dir` (relative to the state directory) is a tmpfs of
 * `size`, mounted before domud starts. Teardown stops domud before the
 * unmount (its open files would keep the mount busy) and unmounts before the
 * sandbox removes its tree.
 */
async function onTmpfs(t: Teardown, sub: string, size: string): Promise<{ s: Sandbox; fs: Tmpfs; c: Client }> {
  const s = await Sandbox.create({ entry: builtEntry(), nodeArgs: [] });
  let fs: Tmpfs | undefined;
  let c: Client | undefined;
  t.teardown(async () => {
    c?.close();
    await s.stopDaemon('SIGTERM');
    fs?.unmount();
    await s.destroy();
  });
  fs = tmpfs(t, `size=${size}`, join(s.stateDir, sub));
  await s.startDaemon();
  c = await Client.open(s.address);
  return { s, fs, c };
}

/**
 * What must not change while the disk is full. The lease rows, not the whole
 * database: a create rolled back after its lease was taken (as when the
 * toolstack fails) leaves the allocator's next-fit cursor past the address it
 * gave back, so that the address is not handed out again at once.
 */
async function snapshot(s: Sandbox, c: Client) {
  const [[domains], [leases]] = await Promise.all([c.call('ListDomains'), c.call('ListLeases')]);
  // A guest just created reads "running" until the toolstack's list says
  // "blocked" (it is idle): the same running guest.
  const live = (domains as unknown[][]).map(([name, id, state, ...rest]) => [name, id, state === 'blocked' ? 'running' : state, ...rest]);
  return {
    domains: live,
    leases,
    db: dbRows(s.stateDir),
    files: stateListing(s.stateDir).filter((f) => !f.includes(FILLER_NAME)),
    sim: await simList(s),
    routes: await routes(s),
  };
}

/** The call's D-Bus error name and message, or 'ok'. */
async function outcome(call: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await call;
    return { name: 'ok', message: '' };
  } catch (e) {
    return { name: errorName(e), message: String((e as { text?: unknown }).text ?? (e as Error).message) };
  }
}

t.test('a full state directory', async (t) => {
  const { s, fs, c } = await onTmpfs(t, '.', '2m');
  await c.call('CreateDomain', 'sa{sv}', 'kept', {});
  const before = await settle(s, c);
  t.same(before.bad, [], 'consistent before');
  const was = await snapshot(s, c);
  const dump = dbDump(s.stateDir);
  fs.fill();

  const create = await outcome(c.call('CreateDomain', 'sa{sv}', 'new', { memory: v('u', 96) }));
  t.equal(create.name, `${E}NoSpace`, 'CreateDomain: NoSpace');
  t.match(create.message, `no space left in ${s.stateDir}:`, `names the directory: ${create.message}`);
  const destroy = await outcome(c.call('DestroyDomain', 's', 'kept'));
  t.equal(destroy.name, `${E}NoSpace`, 'DestroyDomain: NoSpace');
  t.match(destroy.message, `no space left in ${s.stateDir}:`, `names the directory: ${destroy.message}`);
  t.same(await snapshot(s, c), was, 'leases, files, guests and routes as before');
  t.equal(dbDump(s.stateDir), dump, 'not a row of the database changed: the lease was refused before it was taken');

  fs.free();
  await c.call('CreateDomain', 'sa{sv}', 'new', { memory: v('u', 96) });
  await c.call('DestroyDomain', 's', 'kept');
  const after = await settle(s, c);
  t.same(after.bad, [], 'consistent after');
  t.same(
    after.o.domains.map((d) => d.name),
    ['new'],
    'once space is back, the same calls work',
  );
});

t.test('a full guest config directory', async (t) => {
  const { s, fs, c } = await onTmpfs(t, 'domains', '64k');
  await c.call('CreateDomain', 'sa{sv}', 'kept', {});
  await c.call('CreateDomain', 'sa{sv}', 'off', {});
  await c.call('ShutdownDomain', 'sa{sv}', 'off', { wait: v('b', true) });
  const before = await settle(s, c);
  t.same(before.bad, [], 'consistent before');
  const was = await snapshot(s, c);
  fs.fill();

  const dir = join(s.stateDir, 'domains');
  const create = await outcome(c.call('CreateDomain', 'sa{sv}', 'new', {}));
  t.equal(create.name, `${E}NoSpace`, 'CreateDomain: NoSpace');
  t.match(create.message, `no space left in ${dir} (file system full)`, `names the directory: ${create.message}`);
  const start = await outcome(c.call('StartDomain', 's', 'off'));
  t.equal(start.name, `${E}NoSpace`, 'StartDomain: NoSpace');
  t.match(start.message, `no space left in ${dir} (file system full)`, `names the directory: ${start.message}`);
  t.same(await snapshot(s, c), was, 'leases, configs, guests and routes as before: the new lease was given back');

  fs.free();
  await c.call('CreateDomain', 'sa{sv}', 'new', {});
  await c.call('StartDomain', 's', 'off');
  const after = await settle(s, c);
  t.same(after.bad, [], 'consistent after');
  t.same(
    after.o.sim.map((g) => g.name).sort(),
    ['kept', 'new', 'off'],
    'once space is back, the same calls work',
  );
});
