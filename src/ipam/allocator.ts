// Leases in SQLite. The database is the only record: every call reads or
// writes it, each change is one transaction (durable unless asked otherwise),
// nothing is cached.
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import {
  AddressUnavailableError,
  InvalidArgumentError,
  LeaseExistsError,
  NoSpaceError,
  NoSuchLeaseError,
  PoolExhaustedError,
} from './errors.js';
import { addressToInt, intToAddress, type Pool } from './pool.js';
import { ATTR_KEY, attrExpression, openDatabase } from './schema.js';

export interface Lease {
  address: string;
  name: string;
  mac: string;
  /** Microseconds since the epoch. */
  acquiredAt: number;
  /** Opaque JSON owned by the caller. */
  attrs: string;
}

/** Who holds an address: a lease without its MAC, time and attrs. */
export type Holder = Pick<Lease, 'address' | 'name'>;

export interface OpenOptions {
  /**
   * Top-level keys of attrs that withAttr() looks up: each gets an index,
   * created at open if missing, so the lookup is a seek, not a scan.
   */
  indexedAttrs?: readonly string[] | undefined;
}

export interface AllocateOptions {
  /** A specific address instead of the next free one. */
  address?: string | undefined;
  /** Initial attrs, JSON; defaults to "{}". */
  attrs?: string | undefined;
  /**
   * false: committed (atomic, and kept if the process dies) but not fsynced,
   * so a power cut may lose it; the next durable change makes it durable too
   * (one WAL). For a lease whose first use cannot outlive a power cut either.
   */
  durable?: boolean | undefined;
}

const LEASE = 'address, name, mac, acquired_at AS acquiredAt, attrs';

function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function checkText(what: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v === '') throw new InvalidArgumentError(`${what} must be a non-empty string`);
}

function checkAttrKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || !ATTR_KEY.test(key)) {
    throw new InvalidArgumentError(`an attrs key must be an identifier (letters, digits and _, not first a digit), got ${JSON.stringify(key)}`);
  }
}

function checkAttrs(attrs: unknown): asserts attrs is string {
  checkText('attrs', attrs);
  try {
    JSON.parse(attrs);
  } catch {
    throw new InvalidArgumentError(`attrs must be JSON text, got ${JSON.stringify(attrs.slice(0, 40))}`);
  }
}

export class Allocator {
  /** Leases kept from an earlier range, found at open; their addresses are never handed out. */
  readonly outOfRange: readonly Lease[];
  private readonly db: Database.Database;
  private readonly q;
  private readonly allocateTx;
  private readonly byAttr = new Map<string, Database.Statement>();

  private constructor(
    readonly path: string,
    readonly pool: Pool,
    opts: OpenOptions,
  ) {
    const keys = opts.indexedAttrs ?? [];
    for (const k of keys) checkAttrKey(k);
    this.db = openDatabase(path, pool, keys);
    const p = (sql: string) => this.db.prepare(sql);
    this.q = {
      // Next-fit: the first free address after the cursor, else wrap to the
      // lowest free one. Both are single seeks on the free runs' key.
      next: p(
        `SELECT coalesce(
           (SELECT max(s, (SELECT cursor + 1 FROM pool)) FROM free
              WHERE e >= (SELECT cursor + 1 FROM pool) ORDER BY e LIMIT 1),
           (SELECT s FROM free ORDER BY e LIMIT 1))`,
      ).pluck(),
      // The lease is built from what was inserted: RETURNING would cost
      // every allocation a statement's worth of work.
      insert: p('INSERT INTO leases (ip, name, mac, acquired_at, attrs) VALUES (?, ?, ?, ?, ?)'),
      byName: p(`SELECT ${LEASE} FROM leases WHERE name = ?`),
      byIp: p(`SELECT ${LEASE} FROM leases WHERE ip = ?`),
      release: p(`DELETE FROM leases WHERE name = ? RETURNING ${LEASE}`),
      setAttrs: p('UPDATE leases SET attrs = ? WHERE name = ?'),
      // Rows as arrays, the address formatted here: half the time of SQL
      // building both the string and an object per row, which counts at start-up.
      list: p('SELECT ip, name, mac, acquired_at, attrs FROM leases ORDER BY ip').raw(),
      holders: p('SELECT ip, name FROM leases ORDER BY ip').raw(),
      mac: p('SELECT 1 FROM leases WHERE mac = ? LIMIT 1').pluck(),
      has: p('SELECT 1 FROM leases WHERE name = ?').pluck(),
      used: p('SELECT used FROM pool').pluck(),
      outside: p(`SELECT ${LEASE} FROM leases WHERE ip NOT BETWEEN ? AND ? ORDER BY ip`),
      // Prepared once: db.pragma() compiles its statement at every call.
      syncNormal: p('PRAGMA synchronous = NORMAL'),
      syncFull: p('PRAGMA synchronous = FULL'),
    };
    this.allocateTx = this.db.transaction(this.allocateIn.bind(this));
    this.outOfRange = Object.freeze(this.q.outside.all(pool.first, pool.last) as Lease[]);
  }

  /** Opens (creating if missing) the lease database for `pool`; throws DatabaseError. */
  static open(path: string, pool: Pool, opts: OpenOptions = {}): Allocator {
    return new Allocator(path, pool, opts);
  }

  /**
   * Leases an address to `name`: the one asked for, or the next free one after
   * the last handed out (wrapping). On disk before it returns (unless
   * `durable: false`).
   */
  allocate(name: string, mac: string, opts: AllocateOptions = {}): Lease {
    checkText('name', name);
    checkText('mac', mac);
    const attrs = opts.attrs ?? '{}';
    checkAttrs(attrs);
    let wanted: number | undefined;
    if (opts.address !== undefined) {
      wanted = addressToInt(opts.address);
      if (wanted === undefined) throw new InvalidArgumentError(`address ${JSON.stringify(opts.address)} is not a dotted IPv4 address`);
      const why = this.pool.unleasable(wanted);
      if (why) throw new AddressUnavailableError(opts.address, why, this.pool.cidr);
    }
    if (opts.durable !== false) return this.writing(() => this.allocateTx.immediate(name, mac, attrs, wanted) as Lease);
    this.q.syncNormal.run();
    try {
      return this.writing(() => this.allocateTx.immediate(name, mac, attrs, wanted) as Lease);
    } finally {
      this.q.syncFull.run();
    }
  }

  /**
   * Runs one change; a full file system becomes NoSpaceError naming the
   * database's directory (SQLite has rolled the change back by then).
   */
  private writing<T>(change: () => T): T {
    try {
      return change();
    } catch (e) {
      if ((e as { code?: unknown }).code === 'SQLITE_FULL') throw new NoSpaceError(dirname(this.path), { cause: e });
      throw e;
    }
  }

  private allocateIn(name: string, mac: string, attrs: string, wanted: number | undefined): Lease {
    let ip: number;
    if (wanted === undefined) {
      const next = this.q.next.get() as number | null;
      if (next === null) {
        this.refuseHeld(name);
        throw new PoolExhaustedError(this.pool.cidr);
      }
      ip = next;
    } else {
      this.refuseHeld(name);
      const holder = this.q.byIp.get(wanted) as Lease | undefined;
      if (holder) throw new AddressUnavailableError(holder.address, 'taken', this.pool.cidr, holder.name);
      ip = wanted;
    }
    const acquiredAt = nowMicros();
    try {
      this.q.insert.run(ip, name, mac, acquiredAt, attrs);
    } catch (e) {
      // A name already held is found by its UNIQUE index, not by a lookup
      // before every insert: the common case pays one statement less.
      if ((e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') this.refuseHeld(name);
      throw e;
    }
    return { address: intToAddress(ip), name, mac, acquiredAt, attrs };
  }

  private refuseHeld(name: string): void {
    const held = this.q.byName.get(name) as Lease | undefined;
    if (held) throw new LeaseExistsError(name, held.address);
  }

  /** Ends `name`'s lease and returns it; a name without a lease is not an error. */
  release(name: string): Lease | undefined {
    // all(), not get(): with RETURNING, SQLite hands the row out at the
    // first step and commits only when the statement is done; get() stops at
    // the row, so a commit that failed (a full disk) would go unreported.
    return this.writing(() => (this.q.release.all(name) as Lease[])[0]);
  }

  /** Replaces the caller's JSON kept with `name`'s lease. */
  setAttrs(name: string, attrs: string): void {
    checkAttrs(attrs);
    if (this.writing(() => this.q.setAttrs.run(attrs, name).changes) === 0) throw new NoSuchLeaseError(name);
  }

  get(name: string): Lease | undefined {
    return this.q.byName.get(name) as Lease | undefined;
  }

  /** Whether `name` holds a lease: get() without reading the row, a third of its time. */
  has(name: string): boolean {
    return this.q.has.get(name) !== undefined;
  }

  byAddress(address: string): Lease | undefined {
    const ip = addressToInt(address);
    return ip === undefined ? undefined : (this.q.byIp.get(ip) as Lease | undefined);
  }

  /** Every lease, out-of-range ones included, ordered by address. */
  list(): Lease[] {
    const rows = this.q.list.all() as Array<[number, string, string, number, string]>;
    return rows.map(([ip, name, mac, acquiredAt, attrs]) => ({ address: intToAddress(ip), name, mac, acquiredAt, attrs }));
  }

  /** list() without MACs, times and attrs: a third of the time for callers that need only who holds what. */
  holders(): Holder[] {
    const rows = this.q.holders.all() as Array<[number, string]>;
    return rows.map(([ip, name]) => ({ address: intToAddress(ip), name }));
  }

  /** Whether any lease, out-of-range ones included, has this MAC. */
  macInUse(mac: string): boolean {
    return this.q.mac.get(mac) !== undefined;
  }

  /**
   * The leases whose attrs (a JSON object) have the string `value` at top-level `key`,
   * ordered by address. A key given in `indexedAttrs` at open is a seek;
   * any other is a scan of every lease.
   */
  withAttr(key: string, value: string): Lease[] {
    checkAttrKey(key);
    let q = this.byAttr.get(key);
    if (!q) this.byAttr.set(key, (q = this.db.prepare(`SELECT ${LEASE} FROM leases WHERE ${attrExpression(key)} = ? ORDER BY ip`)));
    return q.all(value) as Lease[];
  }

  /** Leases held now, out-of-range ones included. */
  inUse(): number {
    return this.q.used.get() as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
