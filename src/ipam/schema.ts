// The lease database's layout and how an existing file is vetted before use.
//
// leases  one row per lease; the address is stored as an integer and is the
//         table's key (UNIQUE by construction), the name is UNIQUE too.
// free    the leasable addresses not leased, as disjoint runs [s, e] keyed by
//         their end. Triggers on leases keep it exact inside every statement,
//         so the next free address is one index seek however full the pool is.
// pool    one row: the range the runs cover, the next-fit cursor (the last
//         address handed out, set by the insert's trigger) and the number
//         of leases.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DatabaseError } from './errors.js';
import type { Pool } from './pool.js';

/** PRAGMA application_id of a domud lease database: "domu". */
export const APPLICATION_ID = 0x646f6d75;

const V1 = `
CREATE TABLE pool (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cidr TEXT NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  cursor INTEGER NOT NULL,
  used INTEGER NOT NULL
);
CREATE TABLE leases (
  ip INTEGER PRIMARY KEY CHECK (ip BETWEEN 0 AND 4294967295),
  name TEXT NOT NULL UNIQUE CHECK (name <> ''),
  mac TEXT NOT NULL,
  acquired_at INTEGER NOT NULL,
  attrs TEXT NOT NULL DEFAULT '{}',
  address TEXT GENERATED ALWAYS AS
    ((ip >> 24) || '.' || ((ip >> 16) & 255) || '.' || ((ip >> 8) & 255) || '.' || (ip & 255)) VIRTUAL
);
CREATE TABLE free (
  e INTEGER PRIMARY KEY,
  s INTEGER NOT NULL CHECK (s <= e)
);
-- Leasing an address cuts it out of the run that holds it (a no-op for an
-- address outside the runs, e.g. one from an earlier range).
CREATE TRIGGER leases_take AFTER INSERT ON leases BEGIN
  UPDATE pool SET used = used + 1;
  INSERT INTO free (e, s) SELECT NEW.ip - 1, s FROM free
    WHERE e = (SELECT min(e) FROM free WHERE e >= NEW.ip) AND s < NEW.ip;
  UPDATE free SET s = NEW.ip + 1
    WHERE e = (SELECT min(e) FROM free WHERE e >= NEW.ip) AND s <= NEW.ip AND e > NEW.ip;
  DELETE FROM free WHERE e = NEW.ip;
END;
CREATE TRIGGER leases_give AFTER DELETE ON leases BEGIN
  UPDATE pool SET used = used - 1;
END;
-- Releasing an address of the range merges it with its neighbouring runs.
CREATE TRIGGER leases_give_back AFTER DELETE ON leases
WHEN OLD.ip BETWEEN (SELECT first FROM pool) AND (SELECT last FROM pool) BEGIN
  UPDATE free SET s = coalesce((SELECT s FROM free WHERE e = OLD.ip - 1), OLD.ip)
    WHERE e = (SELECT min(e) FROM free WHERE e > OLD.ip) AND s = OLD.ip + 1;
  INSERT INTO free (e, s) SELECT OLD.ip, coalesce((SELECT s FROM free WHERE e = OLD.ip - 1), OLD.ip)
    WHERE NOT EXISTS (SELECT 1 FROM free WHERE e = (SELECT min(e) FROM free WHERE e > OLD.ip) AND s <= OLD.ip);
  DELETE FROM free WHERE e = OLD.ip - 1;
END;
CREATE TRIGGER leases_keep_address BEFORE UPDATE OF ip ON leases BEGIN
  SELECT RAISE(ABORT, 'a lease keeps its address: release it and allocate again');
END;
`;

// A fresh MAC is checked against those held: one index seek, not a scan of
// every lease on each create.
const V2 = `
CREATE INDEX leases_mac ON leases (mac);
`;

// The insert moves the next-fit cursor too: one statement fewer in every
// allocation, whose cost is what the allocator is measured by. The run
// upkeep is V1's, restated: a migration is frozen text, never built from
// parts that a later change could alter.
const V3 = `
DROP TRIGGER leases_take;
CREATE TRIGGER leases_take AFTER INSERT ON leases BEGIN
  UPDATE pool SET used = used + 1, cursor = NEW.ip;
  INSERT INTO free (e, s) SELECT NEW.ip - 1, s FROM free
    WHERE e = (SELECT min(e) FROM free WHERE e >= NEW.ip) AND s < NEW.ip;
  UPDATE free SET s = NEW.ip + 1
    WHERE e = (SELECT min(e) FROM free WHERE e >= NEW.ip) AND s <= NEW.ip AND e > NEW.ip;
  DELETE FROM free WHERE e = NEW.ip;
END;
`;

/** Schema migrations; MIGRATIONS[i] takes user_version i to i + 1. */
export const MIGRATIONS: readonly string[] = [V1, V2, V3];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The clear sentence for a SQLite failure met while opening. */
function problemOf(e: unknown): string {
  const code = String((e as { code?: unknown }).code);
  if (code.startsWith('SQLITE_READONLY')) return 'is read-only; domud must be able to write its leases';
  if (code.startsWith('SQLITE_CANTOPEN')) return 'cannot be opened (missing directory or no permission)';
  if (code === 'SQLITE_NOTADB') return 'is not a SQLite database, so not a domud lease database';
  if (code.startsWith('SQLITE_CORRUPT')) return 'is corrupt';
  return `cannot be used: ${(e as Error).message}`;
}

/**
 * Opens, vets, migrates and aligns the database with `pool` in one write
 * transaction (which is also what proves the file writable). Anything that is
 * not a domud database is refused, never reset.
 */
export function openDatabase(path: string, pool: Pool, indexedAttrs: readonly string[] = []): Database.Database {
  let db: Database.Database | undefined;
  // A clean close checkpoints the write-ahead log into the file and removes
  // it; a log left behind means that the daemon or the machine died with the
  // database open. Only then is the whole file checked, as fsck checks a file
  // system after an unclean unmount: the check reads every page, and a clean
  // restart should not wait for that.
  const unclean = existsSync(`${path}-wal`);
  try {
    db = new Database(path, { timeout: 5000 });
    vet(db, path, unclean);
    if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') {
      throw new DatabaseError(path, 'cannot be switched to WAL mode');
    }
    db.pragma('synchronous = FULL');
    db.transaction(() => {
      migrate(db!);
      align(db!, pool);
      for (const key of indexedAttrs) db!.exec(`CREATE INDEX IF NOT EXISTS ${attrIndexName(key)} ON leases (${attrExpression(key)})`);
    }).immediate();
    return db;
  } catch (e) {
    db?.close();
    if (e instanceof DatabaseError) throw e;
    throw new DatabaseError(path, problemOf(e), { cause: e });
  }
}

/** Top-level keys of attrs that can be indexed and queried: plain identifiers, so they go into SQL as they are. */
export const ATTR_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * The SQL for attrs' top-level `key`: one text shared by the index and the
 * queries (SQLite uses an expression index only for the same expression).
 * attrs that are not JSON, which only a writer bypassing the allocator can
 * leave, read as NULL instead of failing every statement that meets them.
 */
export function attrExpression(key: string): string {
  return `CASE WHEN json_valid(attrs) THEN json_extract(attrs, '$.${key}') END`;
}

function attrIndexName(key: string): string {
  return `leases_attr_${key}`;
}

/** Refuses files that are someone else's, newer than this code, or (checked after an unclean stop) damaged. */
function vet(db: Database.Database, path: string, check: boolean): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (appId === 0 && version === 0) {
    const objects = db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() as number;
    if (objects === 0) return; // a new, empty file: ours to set up
  }
  if (appId !== APPLICATION_ID) throw new DatabaseError(path, 'is a SQLite database but not a domud lease database');
  if (version > SCHEMA_VERSION) {
    throw new DatabaseError(path, `has schema version ${version}, newer than this domud understands (${SCHEMA_VERSION})`);
  }
  if (!check) return;
  const found = db.pragma('quick_check', { simple: true });
  if (found !== 'ok') {
    // quick_check reports many lines; the first real one says enough.
    const first = String(found).split('\n').find((l) => !l.startsWith('***'));
    throw new DatabaseError(path, `is corrupt (${first})`);
  }
}

function migrate(db: Database.Database): void {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from === SCHEMA_VERSION) return; // nothing written: a clean start-up costs no fsync
  for (let v = from; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/**
 * Whether the database is already pointed at `pool` with runs and count that
 * add up: the triggers keep them exact in every statement, so after a clean
 * stop or a crash alike this holds and start-up writes nothing. A sum that
 * does not add up (a hand-edited `free` or `pool`) means a rebuild.
 */
function aligned(db: Database.Database, pool: Pool): boolean {
  const { first, last } = pool;
  const row = db
    .prepare(
      `SELECT cidr, first, last, used,
         (SELECT count(*) FROM leases) AS leases,
         (SELECT count(*) FROM leases WHERE ip BETWEEN :first AND :last) AS inside,
         (SELECT coalesce(sum(e - s + 1), 0) FROM free) AS free,
         (SELECT count(*) FROM free WHERE s < :first OR e > :last) AS outside
       FROM pool`,
    )
    .get({ first, last }) as { cidr: string; first: number; last: number; used: number; leases: number; inside: number; free: number; outside: number } | undefined;
  return (
    row !== undefined &&
    row.cidr === pool.cidr &&
    row.first === first &&
    row.last === last &&
    row.used === row.leases &&
    row.outside === 0 &&
    row.free + row.inside === last - first + 1
  );
}

/**
 * Points the database at the configured range and rebuilds the free runs from
 * the leases, unless they already match. Leases outside the range stay; they
 * are simply not in any run.
 */
function align(db: Database.Database, pool: Pool): void {
  if (aligned(db, pool)) return;
  const { first, last } = pool;
  db.prepare(
    `INSERT INTO pool (id, cidr, first, last, cursor, used) VALUES (1, :cidr, :first, :last, :last, 0)
     ON CONFLICT (id) DO UPDATE SET cidr = :cidr, first = :first, last = :last,
       cursor = CASE WHEN cursor BETWEEN :first AND :last THEN cursor ELSE :last END`,
  ).run({ cidr: pool.cidr, first, last });
  db.exec('UPDATE pool SET used = (SELECT count(*) FROM leases); DELETE FROM free;');
  db.prepare(
    `INSERT INTO free (e, s)
     SELECT nxt - 1, ip + 1 FROM (
       SELECT ip, lead(ip) OVER (ORDER BY ip) AS nxt FROM (
         SELECT ip FROM leases WHERE ip BETWEEN :first AND :last
         UNION ALL SELECT :first - 1 UNION ALL SELECT :last + 1))
     WHERE nxt > ip + 1`,
  ).run({ first, last });
}
