import { join } from 'node:path';
import t, { type Test } from 'tap';
import {
  AddressUnavailableError,
  Allocator,
  InvalidArgumentError,
  LeaseExistsError,
  NoSuchLeaseError,
  Pool,
  PoolExhaustedError,
} from '../../src/ipam/index.js';
import { MAC, fresh } from './fresh.js';

type Tap = Test;


t.test('allocates in address order from the first host after dom0', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  const before = Date.now() * 1000;
  const l = a.allocate('web', MAC);
  const after = Date.now() * 1000 + 1000;
  t.match(l, { address: '10.0.0.2', name: 'web', mac: MAC, attrs: '{}' });
  t.ok(Number.isInteger(l.acquiredAt) && l.acquiredAt >= before && l.acquiredAt <= after, 'acquiredAt is µs since the epoch');
  t.equal(a.allocate('db', MAC).address, '10.0.0.3');
  t.equal(a.inUse(), 2);
  t.equal(a.pool.total, 253);
  t.same(a.outOfRange, []);
});

t.test('the MAC is stored as given, attrs as given', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  const l = a.allocate('x', 'AA:bb:CC:00:11:22', { attrs: '{"memory":128}' });
  t.equal(l.mac, 'AA:bb:CC:00:11:22');
  t.equal(a.get('x')?.attrs, '{"memory":128}');
});

t.test('durable: false commits without fsync, then the connection is back to FULL', async (t) => {
  const { a, path } = fresh(t, '10.0.0.0/24');
  const sync = () => (a as unknown as { db: { pragma(s: string, o: object): unknown } }).db.pragma('synchronous', { simple: true });
  const l = a.allocate('quick', MAC, { durable: false, attrs: '{"x":1}' });
  t.same(l, { address: '10.0.0.2', name: 'quick', mac: MAC, acquiredAt: l.acquiredAt, attrs: '{"x":1}' });
  t.equal(sync(), 2, 'FULL again for the next change');
  t.throws(() => a.allocate('quick', MAC, { durable: false }), { code: 'LeaseExists' });
  t.equal(sync(), 2, 'FULL again after a refusal too');
  // Committed: another connection (a restarted daemon) sees it.
  const b = Allocator.open(path, Pool.parse('10.0.0.0/24'));
  t.teardown(() => b.close());
  t.equal(b.get('quick')?.address, '10.0.0.2');
});

t.test('next-fit: a released address is not reused until the range wraps', async (t) => {
  const { a } = fresh(t, '10.0.0.0/29'); // leasable .2 .. .6
  for (const n of ['a', 'b', 'c']) a.allocate(n, MAC); // .2 .3 .4
  a.release('a');
  t.equal(a.allocate('d', MAC).address, '10.0.0.5', 'continues after the last handed out');
  t.equal(a.allocate('e', MAC).address, '10.0.0.6');
  t.equal(a.allocate('f', MAC).address, '10.0.0.2', 'wraps to the lowest free');
  t.equal(a.inUse(), 5);
  const e = t.throws(() => a.allocate('g', MAC));
  t.ok(e instanceof PoolExhaustedError);
  t.match(e, { code: 'PoolExhausted', message: /10\.0\.0\.0\/29/ });
  a.release('c');
  a.release('e');
  t.equal(a.allocate('h', MAC).address, '10.0.0.4', 'after .2 the next free is .4');
  t.equal(a.allocate('i', MAC).address, '10.0.0.6');
});

t.test('a /30 has exactly one leasable address', async (t) => {
  const { a } = fresh(t, '192.168.9.4/30');
  t.equal(a.allocate('only', MAC).address, '192.168.9.6');
  t.ok(t.throws(() => a.allocate('more', MAC)) instanceof PoolExhaustedError);
  t.ok(t.throws(() => a.allocate('only', MAC)) instanceof LeaseExistsError, 'a name that holds a lease is told so, full pool or not');
  a.release('only');
  t.equal(a.allocate('again', MAC).address, '192.168.9.6');
});

t.test('a specific address: free is granted and moves the cursor, anything else says why', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  t.equal(a.allocate('pick', MAC, { address: '10.0.0.100' }).address, '10.0.0.100');
  t.equal(a.allocate('next', MAC).address, '10.0.0.101', 'next-fit continues after the requested one, as host-local does');
  const cases: [string, string][] = [
    ['10.0.0.0', 'network'],
    ['10.0.0.255', 'broadcast'],
    ['10.0.0.1', 'dom0'],
    ['10.0.1.7', 'outside'],
    ['9.255.255.255', 'outside'],
    ['10.0.0.100', 'taken'],
  ];
  for (const [address, reason] of cases) {
    const e = t.throws(() => a.allocate('someone', MAC, { address }));
    t.ok(e instanceof AddressUnavailableError, address);
    t.match(e, { code: 'AddressUnavailable', address, reason });
  }
  t.match(t.throws(() => a.allocate('someone', MAC, { address: '10.0.0.100' })), { message: /is leased to "pick"/ });
  t.match(t.throws(() => a.allocate('someone', MAC, { address: '10.0.0.1' })), { message: /dom0/ });
  t.equal(a.get('someone'), undefined, 'nothing was written');
  t.equal(a.inUse(), 2);
});

t.test('one lease per name', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  a.allocate('web', MAC);
  for (const opts of [{}, { address: '10.0.0.50' }]) {
    const e = t.throws(() => a.allocate('web', MAC, opts));
    t.ok(e instanceof LeaseExistsError);
    t.match(e, { code: 'LeaseExists', leaseName: 'web', address: '10.0.0.2', message: /"web" already holds a lease \(10\.0\.0\.2\)/ });
  }
  t.equal(a.byAddress('10.0.0.50'), undefined);
  t.equal(a.inUse(), 1);
});

t.test('malformed arguments are InvalidArgumentError and change nothing', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  const bad: [string, string, object][] = [
    ['', MAC, {}],
    ['x', '', {}],
    [7 as unknown as string, MAC, {}],
    ['x', MAC, { attrs: 'not json' }],
    ['x', MAC, { attrs: '' }],
    ['x', MAC, { address: '10.0.0.300' }],
    ['x', MAC, { address: '10.0.0.7/32' }],
  ];
  for (const [name, mac, opts] of bad) {
    const e = t.throws(() => a.allocate(name, mac, opts));
    t.ok(e instanceof InvalidArgumentError, JSON.stringify([name, mac, opts]));
    t.match(e, { code: 'InvalidArgument' });
  }
  t.equal(a.inUse(), 0);
  t.equal(a.allocate('x', MAC).address, '10.0.0.2', 'the cursor did not move');
});

t.test('release is by name and idempotent', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  a.allocate('web', MAC, { attrs: '{"a":1}' });
  const r = a.release('web');
  t.match(r, { name: 'web', address: '10.0.0.2', mac: MAC, attrs: '{"a":1}' });
  t.equal(a.release('web'), undefined);
  t.equal(a.release('never'), undefined);
  t.equal(a.inUse(), 0);
  t.equal(a.get('web'), undefined);
});

t.test('setAttrs replaces the owner data, checked as JSON', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  a.allocate('web', MAC);
  a.setAttrs('web', '{"phase":"ready"}');
  t.equal(a.get('web')?.attrs, '{"phase":"ready"}');
  t.ok(t.throws(() => a.setAttrs('web', '{oops')) instanceof InvalidArgumentError);
  t.equal(a.get('web')?.attrs, '{"phase":"ready"}');
  const e = t.throws(() => a.setAttrs('nobody', '{}'));
  t.ok(e instanceof NoSuchLeaseError);
  t.match(e, { code: 'NoSuchLease', leaseName: 'nobody' });
});

t.test('get, byAddress and list', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  a.allocate('z', MAC, { address: '10.0.0.9' });
  a.allocate('y', MAC, { address: '10.0.0.3' });
  a.allocate('x', MAC);
  t.same(
    a.list().map((l) => [l.address, l.name]),
    [
      ['10.0.0.3', 'y'],
      ['10.0.0.4', 'x'],
      ['10.0.0.9', 'z'],
    ],
  );
  t.equal(a.byAddress('10.0.0.9')?.name, 'z');
  t.equal(a.byAddress('10.0.0.8'), undefined);
  t.equal(a.byAddress('not an address'), undefined);
  t.equal(a.get('y')?.address, '10.0.0.3');
  t.equal(a.get('w'), undefined);
  t.equal(a.has('y'), true);
  t.equal(a.has('w'), false);
  a.release('y');
  t.equal(a.has('y'), false, 'released');
});

t.test('leases and the cursor survive a reopen', async (t) => {
  const { a, path } = fresh(t, '10.0.0.0/24');
  a.allocate('a', MAC);
  a.allocate('b', MAC);
  a.release('a');
  a.close();
  a.close(); // twice is fine
  const b = Allocator.open(path, Pool.parse('10.0.0.0/24'));
  t.teardown(() => b.close());
  t.same(
    b.list().map((l) => l.name),
    ['b'],
  );
  t.equal(b.allocate('c', MAC).address, '10.0.0.4', 'next-fit resumes after the last handed out');
});

t.test('the database refuses to move a lease to another address', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  a.allocate('a', MAC);
  const db = (a as unknown as { db: { prepare(s: string): { run(): unknown } } }).db;
  t.throws(() => db.prepare("UPDATE leases SET ip = ip + 1 WHERE name = 'a'").run(), /keeps its address/);
});

t.test('the UNIQUE constraints hold even for writers that bypass the allocator', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  a.allocate('a', MAC);
  const db = (a as unknown as { db: { prepare(s: string): { run(...p: unknown[]): unknown } } }).db;
  const ins = db.prepare('INSERT INTO leases (ip, name, mac, acquired_at) VALUES (?, ?, ?, 0)');
  t.throws(() => ins.run(0x0a000002, 'other', MAC), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
  t.throws(() => ins.run(0x0a000009, 'a', MAC), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
});

t.test('holders: who holds which address, in address order, as list says', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  t.same(a.holders(), [], 'none at first');
  a.allocate('z', MAC, { address: '10.0.0.9' });
  a.allocate('y', MAC, { address: '10.0.0.3', attrs: '{"big":true}' });
  t.same(a.holders(), [
    { address: '10.0.0.3', name: 'y' },
    { address: '10.0.0.9', name: 'z' },
  ]);
  t.same(
    a.holders(),
    a.list().map(({ address, name }) => ({ address, name })),
  );
});

t.test('macInUse sees every lease, and forgets a released one', async (t) => {
  const { a } = fresh(t, '10.0.0.0/24');
  t.notOk(a.macInUse(MAC));
  a.allocate('a', MAC);
  a.allocate('b', '00:16:3e:00:00:02');
  t.ok(a.macInUse(MAC));
  t.ok(a.macInUse('00:16:3e:00:00:02'));
  t.notOk(a.macInUse('00:16:3e:00:00:03'));
  a.release('a');
  t.notOk(a.macInUse(MAC), 'released');
});

t.test('withAttr finds leases by a top-level attrs key, indexed or not', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'leases.db');
  const seed = Allocator.open(path, Pool.parse('10.0.0.0/24'));
  seed.allocate('c', MAC, { attrs: '{"phase":"creating","n":1}' });
  seed.allocate('r', MAC, { attrs: '{"phase":"ready"}' });
  seed.allocate('d', MAC, { attrs: '{"phase":"destroying"}' });
  seed.allocate('e', MAC); // "{}"
  seed.allocate('nested', MAC, { attrs: '{"settings":{"phase":"creating"}}' });
  seed.allocate('list', MAC, { attrs: '["phase","creating"]' });
  seed.allocate('c2', MAC, { attrs: '{"phase":"creating"}' });
  // A writer that bypasses the allocator can store attrs that are not JSON:
  // neither the index nor the query may fail on it.
  (seed as unknown as { db: { exec(s: string): void } }).db.exec("UPDATE leases SET attrs = 'not json' WHERE name = 'e'");
  t.same(seed.withAttr('phase', 'creating').map((l) => l.name), ['c', 'c2'], 'without an index: a scan');
  seed.close();

  const a = Allocator.open(path, Pool.parse('10.0.0.0/24'), { indexedAttrs: ['phase'] });
  t.teardown(() => a.close());
  const db = (a as unknown as { db: { prepare(s: string): { all(...p: unknown[]): unknown[]; pluck(): { all(): unknown[] } } } }).db;
  t.same(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'leases_attr_%'").pluck().all(), ['leases_attr_phase'], 'the index is made at open');
  const found = a.withAttr('phase', 'creating');
  t.same(found.map((l) => l.name), ['c', 'c2'], 'top-level only, in address order');
  t.match(found[0], { address: '10.0.0.2', name: 'c', mac: MAC, attrs: '{"phase":"creating","n":1}' }, 'whole leases');
  t.same(a.withAttr('phase', 'destroying').map((l) => l.name), ['d']);
  t.same(a.withAttr('phase', 'gone'), []);
  t.same(a.withAttr('n', '1'), [], 'a string does not match a number');
  const plan = db.prepare("EXPLAIN QUERY PLAN SELECT name FROM leases WHERE CASE WHEN json_valid(attrs) THEN json_extract(attrs, '$.phase') END = ?").all('creating') as Array<{ detail: string }>;
  t.match(plan.map((p) => p.detail).join('\n'), /USING INDEX leases_attr_phase/, 'the lookup is a seek on the index');
  a.setAttrs('r', '{"phase":"creating"}');
  t.same(a.withAttr('phase', 'creating').map((l) => l.name), ['c', 'r', 'c2'], 'the index follows changes');
});

t.test('an attrs key that is not an identifier is refused before any SQL', async (t) => {
  const { a, dir } = fresh(t, '10.0.0.0/24');
  for (const key of ["phase') --", '', '1st', 'a.b', 'x'.repeat(65), 7 as unknown as string]) {
    t.throws(() => a.withAttr(key, 'x'), InvalidArgumentError, `withAttr(${JSON.stringify(key)})`);
    t.throws(() => Allocator.open(join(dir, 'other.db'), Pool.parse('10.0.0.0/24'), { indexedAttrs: [key] }), InvalidArgumentError, `indexedAttrs: [${JSON.stringify(key)}]`);
  }
  t.same(a.withAttr('_ok9', 'x'), []);
});
