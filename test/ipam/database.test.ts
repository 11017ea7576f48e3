import Database from 'better-sqlite3';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { AddressUnavailableError, Allocator, DatabaseError, Pool, PoolExhaustedError } from '../../src/ipam/index.js';
import { MAC, fresh } from './fresh.js';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/ipam/schema.js';

type Tap = Test;



function openFails(t: Tap, path: string, message: RegExp, range = '10.0.0.0/24'): void {
  const e = t.throws(() => Allocator.open(path, Pool.parse(range)));
  t.ok(e instanceof DatabaseError, `${path} is refused with DatabaseError`);
  t.match(e, { code: 'Database', path, message });
}

t.test('a new file gets the schema, its version, WAL and the range', async (t) => {
  const { a, path } = fresh(t, '10.0.0.0/24');
  a.allocate('x', MAC);
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.same(db.prepare('SELECT cidr, used FROM pool').get(), { cidr: '10.0.0.0/24', used: 1 });
  t.same(db.prepare('SELECT address, name FROM leases').all(), [{ address: '10.0.0.2', name: 'x' }], 'readable with plain SQL');
  const sync = (a as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true });
  t.equal(sync, 2, 'synchronous=FULL');
});

t.test('a smaller range keeps the leases outside it, reports them and never hands them out', async (t) => {
  const { a, path } = fresh(t, '10.0.0.0/24');
  a.allocate('in1', MAC);
  a.allocate('in2', MAC);
  a.allocate('out', MAC, { address: '10.0.0.200', attrs: '{"keep":true}' });
  a.close();
  const b = Allocator.open(path, Pool.parse('10.0.0.0/25'));
  t.teardown(() => b.close());
  t.match(b.outOfRange, [{ name: 'out', address: '10.0.0.200', attrs: '{"keep":true}' }]);
  t.equal(b.outOfRange.length, 1);
  t.equal(b.inUse(), 3, 'the kept lease still counts');
  t.equal(b.get('out')?.address, '10.0.0.200');
  t.match(t.throws(() => b.allocate('x', MAC, { address: '10.0.0.200' })), { reason: 'outside' });
  t.match(t.throws(() => b.allocate('out', MAC)), { code: 'LeaseExists' });
  const got = new Set<string>();
  for (let i = 0; ; i++) {
    try {
      got.add(b.allocate(`n${i}`, MAC).address);
    } catch (e) {
      t.ok(e instanceof PoolExhaustedError);
      break;
    }
  }
  t.equal(got.size, 125 - 2, 'the rest of the /25 and nothing else');
  t.notOk(got.has('10.0.0.200'));
  t.equal(b.release('out')?.address, '10.0.0.200', 'a kept lease can be released');
  t.ok(t.throws(() => b.allocate('y', MAC)) instanceof PoolExhaustedError, 'its address does not join the pool');
  const raw = new Database(path, { readonly: true });
  t.teardown(() => raw.close());
  t.equal(raw.prepare('SELECT cidr FROM pool').pluck().get(), '10.0.0.0/25', 'the stored range follows the configuration');
});

t.test('a lease on what is now dom0 is kept and reported; a wider range takes it back', async (t) => {
  const { a, path } = fresh(t, '10.0.0.0/24');
  a.allocate('five', MAC, { address: '10.0.0.5' });
  a.allocate('seven', MAC, { address: '10.0.0.7' });
  a.close();
  const b = Allocator.open(path, Pool.parse('10.0.0.4/30'));
  t.same(
    b.outOfRange.map((l) => l.name),
    ['five', 'seven'],
  );
  t.equal(b.allocate('six', MAC).address, '10.0.0.6');
  t.ok(t.throws(() => b.allocate('more', MAC)) instanceof PoolExhaustedError);
  b.close();
  const c = Allocator.open(path, Pool.parse('10.0.0.0/24'));
  t.teardown(() => c.close());
  t.same(c.outOfRange, []);
  t.match(t.throws(() => c.allocate('x', MAC, { address: '10.0.0.5' })), { reason: 'taken' });
  t.equal(c.allocate('x', MAC).address, '10.0.0.8', 'resumes after .6 and skips the kept .7');
  t.equal(c.allocate('y', MAC, { address: '10.0.0.2' }).address, '10.0.0.2', 'the low end is free again');
});

t.test('reopened with the same range, the database is not written; runs that do not add up are rebuilt', async (t) => {
  const { a, path } = fresh(t, '10.0.0.0/24');
  for (const n of ['a', 'b', 'c']) a.allocate(n, MAC);
  a.release('b');
  a.close();
  const changes = () => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT (SELECT count(*) FROM free) || \' \' || (SELECT coalesce(sum(e - s + 1), 0) FROM free)').pluck().get();
    } finally {
      db.close();
    }
  };
  const before = { file: readFileSync(path).toString('base64'), runs: changes() };
  const again = Allocator.open(path, Pool.parse('10.0.0.0/24'));
  t.equal(readFileSync(`${path}-wal`).length, 0, 'no write at all: a clean start costs no fsync');
  again.close();
  t.same({ file: readFileSync(path).toString('base64'), runs: changes() }, before, 'the file is as it was');

  // Hand edits the triggers cannot see: a lost run, a wrong count.
  for (const edit of ['DELETE FROM free WHERE s = (SELECT min(s) FROM free)', 'UPDATE pool SET used = 7', "UPDATE free SET e = e + 1000 WHERE e = (SELECT max(e) FROM free)"]) {
    const db = new Database(path);
    db.exec(edit);
    db.close();
    const b = Allocator.open(path, Pool.parse('10.0.0.0/24'));
    t.equal(b.inUse(), 2, `${edit}: the count is right again`);
    t.equal(changes(), before.runs, `${edit}: the runs are rebuilt`);
    t.equal(b.allocate(`after-${b.inUse()}`, MAC, { address: '10.0.0.3' }).address, '10.0.0.3', `${edit}: the freed address is leasable`);
    b.release(`after-2`);
    b.close();
  }
});

t.test('a file that is not SQLite is refused and left alone', async (t) => {
  const dir = t.testdir({ 'x.db': 'hello, this is not a database '.repeat(40) });
  const path = join(dir, 'x.db');
  openFails(t, path, /not a SQLite database/);
  t.equal(readFileSync(path, 'utf8'), 'hello, this is not a database '.repeat(40));
});

t.test("someone else's SQLite database is refused and left alone", async (t) => {
  const path = join(t.testdir(), 'other.db');
  const o = new Database(path);
  o.exec("CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine')");
  o.close();
  openFails(t, path, /a SQLite database but not a domud lease database/);
  const o2 = new Database(path, { readonly: true });
  t.teardown(() => o2.close());
  t.equal(o2.pragma('journal_mode', { simple: true }), 'delete', 'not even switched to WAL');
  t.same(o2.prepare('SELECT x FROM notes').pluck().all(), ['mine']);
});

t.test('a database from a newer domud is refused', async (t) => {
  const path = join(t.testdir(), 'new.db');
  const o = new Database(path);
  o.pragma(`application_id = ${APPLICATION_ID}`);
  o.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  o.close();
  openFails(t, path, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this domud understands \\(${SCHEMA_VERSION}\\)`));
});

t.test('a half-made database is refused with what SQLite said', async (t) => {
  const path = join(t.testdir(), 'half.db');
  const o = new Database(path);
  o.pragma(`application_id = ${APPLICATION_ID}`);
  o.exec('CREATE TABLE pool (x)');
  o.close();
  openFails(t, path, /cannot be used: table pool already exists/);
});

t.test('a corrupt database is refused, whether SQLite or its check finds it', async (t) => {
  const { a, path, dir } = fresh(t, '10.0.0.0/16');
  for (let i = 0; i < 2000; i++) a.allocate(`n${i}`, MAC, { attrs: JSON.stringify({ pad: 'x'.repeat(50) }) });
  a.close();
  const damaged = (offset: number) => {
    const copy = join(dir, `damaged-${offset}.db`);
    copyFileSync(path, copy);
    const fd = openSync(copy, 'r+');
    writeSync(fd, Buffer.alloc(200, 0xab), 0, 200, offset);
    closeSync(fd);
    return copy;
  };
  // page 1 holds the schema: SQLite itself reports the damage
  openFails(t, damaged(100), /is corrupt$/, '10.0.0.0/16');
  // A leaf page of the leases: only the integrity check sees it, and it runs
  // after an unclean stop, which the write-ahead log left behind tells.
  const leaf = damaged(4096 * 20 + 8);
  writeFileSync(`${leaf}-wal`, '');
  openFails(t, leaf, /is corrupt \(.+\)$/, '10.0.0.0/16');
});

t.test('the integrity check runs after an unclean stop only', async (t) => {
  const { a, path } = fresh(t, '10.0.0.0/24');
  a.allocate('x', MAC);
  // A killed daemon leaves its write-ahead log; emulate with a second
  // connection that keeps it while the allocator closes.
  const other = new Database(path);
  other.prepare('SELECT count(*) FROM leases').get();
  a.close();
  t.ok(existsSync(`${path}-wal`), 'the log outlives the allocator while another connection holds it');
  const calls: string[] = [];
  const origPragma = Database.prototype.pragma;
  Database.prototype.pragma = function (this: Database.Database, sql: string, o?: Database.PragmaOptions) {
    calls.push(sql);
    return origPragma.call(this, sql, o);
  };
  t.teardown(() => {
    Database.prototype.pragma = origPragma;
  });
  Allocator.open(path, Pool.parse('10.0.0.0/24')).close();
  t.ok(calls.includes('quick_check'), 'a log left behind: checked');
  other.close();
  t.notOk(existsSync(`${path}-wal`), 'the last close removes the log');
  calls.length = 0;
  const b = Allocator.open(path, Pool.parse('10.0.0.0/24'));
  t.teardown(() => b.close());
  t.notOk(calls.includes('quick_check'), 'a clean file: not read through');
  t.equal(b.get('x')?.address, '10.0.0.2');
});

t.test('a read-only database is refused, not silently used', async (t) => {
  // root ignores file modes, so the open runs with nobody's effective uid
  const dir = mkdtempSync(join(tmpdir(), 'domud-ipam-ro-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const path = join(dir, 'ro.db');
  const a = Allocator.open(path, Pool.parse('10.0.0.0/24'));
  a.allocate('kept', MAC);
  a.close();
  chmodSync(path, 0o444);
  const asNobody = <T>(f: () => T): T => {
    if (process.geteuid?.() !== 0) return f();
    process.seteuid!(65534);
    try {
      return f();
    } finally {
      process.seteuid!(0);
    }
  };
  asNobody(() => openFails(t, path, /is read-only/));
  chmodSync(path, 0o644);
  const b = Allocator.open(path, Pool.parse('10.0.0.0/24'));
  t.teardown(() => b.close());
  t.equal(b.get('kept')?.address, '10.0.0.2', 'the refused open changed nothing');
});

t.test('paths that cannot hold a database', async (t) => {
  const dir = t.testdir({ sub: {} });
  openFails(t, join(dir, 'sub'), /cannot be opened/);
  openFails(t, join(dir, 'missing', 'x.db'), /directory does not exist/);
  openFails(t, ':memory:', /cannot be switched to WAL mode/);
});

t.test('an existing empty file becomes a lease database', async (t) => {
  const dir = t.testdir({ 'empty.db': '' });
  const a = Allocator.open(join(dir, 'empty.db'), Pool.parse('10.0.0.0/24'));
  t.teardown(() => a.close());
  t.equal(a.allocate('x', MAC).address, '10.0.0.2');
  t.ok(new AddressUnavailableError('1.2.3.4', 'taken', '1.2.3.0/24').message.endsWith('is leased (1.2.3.0/24)'));
});


t.test('a version 1 database is migrated in place: its leases kept, the MAC index added', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'leases.db');
  const old = new Database(path);
  old.exec(MIGRATIONS[0]!);
  old.pragma(`application_id = ${APPLICATION_ID}`);
  old.pragma('user_version = 1');
  old.prepare("INSERT INTO pool (id, cidr, first, last, cursor, used) VALUES (1, '10.0.0.0/24', 167772162, 167772414, 167772414, 0)").run();
  old.prepare("INSERT INTO leases (ip, name, mac, acquired_at, attrs) VALUES (167772165, 'kept', ?, 5, '{\"a\":1}')").run(MAC);
  old.close();
  const a = Allocator.open(path, Pool.parse('10.0.0.0/24'));
  t.teardown(() => a.close());
  t.match(a.get('kept'), { address: '10.0.0.5', mac: MAC, acquiredAt: 5, attrs: '{"a":1}' });
  t.ok(a.macInUse(MAC));
  t.equal(a.allocate('new', MAC).address, '10.0.0.2', 'the free runs were rebuilt around the old lease');
  const db = new Database(path, { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  t.equal(SCHEMA_VERSION, 3);
  t.same(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'leases' AND sql IS NOT NULL").pluck().all(), ['leases_mac']);
});
