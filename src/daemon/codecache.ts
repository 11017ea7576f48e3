// V8's code cache for the bundled daemon (dist/daemon.cjs). Compiling the
// bundle's 700 KB took a good part of start-up; the cache, made at build time
// (scripts/bundle.mjs), lets V8 skip most of that. It is used only if it was
// made from this very text (a SHA-256 of the source heads it: V8's own check
// compares lengths only) and by this V8 (V8 checks its version and flags);
// anything else compiles from source, as Node would.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { compileFunction } from 'node:vm';

/** The parameters of Node's CommonJS module wrapper. */
export const MODULE_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

/** What became of the cache: used, none there, made from other text, or refused by V8. */
export type CacheUse = 'used' | 'absent' | 'stale' | 'rejected';

const HASH_BYTES = 32;

const digest = (source: string): Buffer => createHash('sha256').update(source).digest();

export const cachePath = (file: string): string => `${file}.cache`;

/** Compiles `file` as the body of a CommonJS module, with its code cache if that fits. */
export function compileCached(file: string): { fn: Function; cache: CacheUse } {
  const source = readFileSync(file, 'utf8');
  const { data, miss } = cacheFor(file, source);
  const fn = compileFunction(source, MODULE_PARAMS, { filename: file, cachedData: data });
  return { fn, cache: miss ?? (fn.cachedDataRejected ? 'rejected' : 'used') };
}

/** The V8 data of `file`'s cache if it was made from `source`, else why not. */
function cacheFor(file: string, source: string): { data?: Buffer; miss?: 'absent' | 'stale' } {
  let raw: Buffer;
  try {
    raw = readFileSync(cachePath(file));
  } catch {
    return { miss: 'absent' };
  }
  if (raw.length <= HASH_BYTES || !raw.subarray(0, HASH_BYTES).equals(digest(source))) return { miss: 'stale' };
  return { data: raw.subarray(HASH_BYTES) };
}

/** Writes `file`'s code cache beside it (atomically); returns its size in bytes. */
export function writeCodeCache(file: string): number {
  const source = readFileSync(file, 'utf8');
  const fn = compileFunction(source, MODULE_PARAMS, { filename: file, produceCachedData: true });
  if (!fn.cachedData) throw new Error(`V8 produced no code cache for ${file}`);
  const out = Buffer.concat([digest(source), fn.cachedData]);
  const tmp = `${cachePath(file)}.tmp`;
  writeFileSync(tmp, out);
  renameSync(tmp, cachePath(file));
  return out.length;
}
