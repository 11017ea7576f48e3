// The code cache is used only when it was made from the very text being
// compiled, by this V8; anything else compiles from source and still runs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cachePath, compileCached, writeCodeCache } from '../../src/daemon/codecache.js';

/** Runs a compiled module body; returns its exports. */
function load(fn: Function, file: string): unknown {
  const module = { exports: {} as unknown };
  fn.call(module.exports, module.exports, () => undefined, module, file, '.');
  return module.exports;
}

const body = (answer: number) => `function answer() { return ${answer}; }\nmodule.exports = { answer: answer(), file: __filename };\n`;

t.test('a cache made from the same text is used', async (t) => {
  const file = join(t.testdir(), 'm.cjs');
  writeFileSync(file, body(41));
  t.equal(compileCached(file).cache, 'absent', 'none yet');
  t.ok(writeCodeCache(file) > 32, 'written: a hash and V8 data');
  const { fn, cache } = compileCached(file);
  t.equal(cache, 'used');
  t.same(load(fn, file), { answer: 41, file });
});

t.test('a cache made from other text is not used, even of the same length', async (t) => {
  const file = join(t.testdir(), 'm.cjs');
  writeFileSync(file, body(41));
  writeCodeCache(file);
  writeFileSync(file, body(42)); // V8's own check, by length, would take it
  const { fn, cache } = compileCached(file);
  t.equal(cache, 'stale');
  t.same(load(fn, file), { answer: 42, file }, 'the new text runs');
  writeFileSync(cachePath(file), Buffer.alloc(10));
  t.equal(compileCached(file).cache, 'stale', 'a cache too short to hold the hash');
});

t.test('a cache V8 refuses is compiled around', async (t) => {
  const file = join(t.testdir(), 'm.cjs');
  writeFileSync(file, body(7));
  writeCodeCache(file);
  const raw = readFileSync(cachePath(file));
  raw.fill(0xab, 32); // the right hash, then no code cache V8 would take
  writeFileSync(cachePath(file), raw);
  const { fn, cache } = compileCached(file);
  t.equal(cache, 'rejected');
  t.same(load(fn, file), { answer: 7, file });
});
