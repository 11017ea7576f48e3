// Copy SRC/node_modules to DEST with only what domud needs at run time.
//
//   node debian/stage-node-modules.mjs SRC DEST
//
// npm ci installed the development tree (tap, typescript...). package-lock.json
// marks every package that only development needs with "dev": true, or with
// "devOptional": true when a production package also names it as an optional
// peer (valibot does typescript); optional packages are never installed here
// (.npmrc: omit=optional), so both are development ones. The production tree
// is the installed one without those: what `npm prune --omit=dev
// --omit=optional` would leave, without npm or the network. SRC is only read.
import { cpSync, existsSync, lstatSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { basename, join } from 'node:path';

const [src, dest] = process.argv.slice(2);
if (!src || !dest) {
  console.error('usage: stage-node-modules.mjs SRC DEST');
  process.exit(2);
}
const fail = (msg) => {
  console.error(`stage-node-modules: ${msg}`);
  process.exit(1);
};
const lock = JSON.parse(readFileSync(join(src, 'package-lock.json'), 'utf8'));
if (!lock.packages) fail('package-lock.json has no "packages" (lockfileVersion 2 or later needed)');

const packages = Object.entries(lock.packages).filter(([key]) => key.startsWith('node_modules/'));
const development = (meta) => meta.dev || meta.devOptional;
const production = packages.filter(([, meta]) => !development(meta));
// Optional packages may be absent (npm ci skips those that fail to build).
const missing = production
  .filter(([key, meta]) => !meta.optional && !existsSync(join(src, key)))
  .map(([key]) => key);
if (missing.length) fail(`production packages missing (run npm ci): ${missing.join(', ')}`);

// What a package needs at run time is its code, package.json and license;
// tests, examples, documentation, type declarations, source maps and the
// packages' own dotfiles (.bin, .github, npm's .package-lock.json...) are
// left behind.
const droppedDirs = new Set(['test', 'tests', '__tests__', 'example', 'examples', 'benchmark', 'benchmarks', 'bench', 'docs', 'doc']);
const keepFile = (name) =>
  !name.startsWith('.') &&
  !/\.(d\.[cm]?ts|[cm]?ts|map|html|ya?ml|tar|zip|ico)$/.test(name) &&
  (!/\.(md|markdown)$/i.test(name) || /^licen[cs]e/i.test(name)) &&
  name !== 'CNAME';
const filter = (from) => {
  const name = basename(from);
  if (droppedDirs.has(name)) return false;
  return lstatSync(from).isDirectory() ? !name.startsWith('.') : keepFile(name);
};

rmSync(dest, { recursive: true, force: true });
// Top-level packages only: a nested node_modules holds its parent's own
// dependencies, which are production ones when the parent is.
let copied = 0;
for (const [key] of production) {
  if (key.split('node_modules/').length !== 2 || !existsSync(join(src, key))) continue;
  cpSync(join(src, key), join(dest, key.slice('node_modules/'.length)), { recursive: true, verbatimSymlinks: true, filter });
  copied++;
}
// Belt and braces: a development package nested under a production one.
for (const [key, meta] of packages) if (development(meta)) rmSync(join(dest, key.slice('node_modules/'.length)), { recursive: true, force: true });

// better-sqlite3 loads build/Release/better_sqlite3.node through `bindings`;
// the SQLite sources, object files and the test extension are build leftovers.
const binding = 'better-sqlite3/build/Release/better_sqlite3.node';
if (!existsSync(join(src, 'node_modules', binding))) fail(`node_modules/${binding} is missing (better-sqlite3 was not built)`);
for (const e of ['deps', 'src', 'binding.gyp', 'build']) rmSync(join(dest, 'better-sqlite3', e), { recursive: true, force: true });
cpSync(join(src, 'node_modules', binding), join(dest, binding));

// Directories the filter emptied.
const prune = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) prune(join(dir, e.name));
  if (readdirSync(dir).length === 0) rmdirSync(dir);
};
prune(dest);

console.log(`stage-node-modules: ${copied} production packages in ${dest}`);
