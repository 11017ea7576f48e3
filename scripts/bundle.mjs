// Bundles the daemon (dist/src/daemon/main.js, as tsc left it) into one
// file, dist/domud.cjs: the program that systemd and D-Bus activation start.
//
// Why: Node's ESM loader resolves, reads and links every module file on its
// own; domud and its dependencies are some two hundred of them, and loading
// them one by one was most of the daemon's start-up (bench/dbus.ts with
// BENCH_DAEMON=dist/src/daemon/main.js measures the unbundled daemon; the
// figures are in docs/design.md).
//
// CommonJS, not ESM: Node loads a large CommonJS file faster than the same
// code as an ES module, which goes through the ESM loader's linking.
//
// better-sqlite3 stays outside (a native addon found through its own
// package), as do dbus-next's optional native transports, which are never
// installed (.npmrc: omit=optional). esbuild-wasm rather than esbuild: the
// same bundler without a platform binary to install.
//
// Then the man page org.domud.Domud1(5), made from the interface XML
// (scripts/dbus-man.mjs).
import { build } from 'esbuild-wasm';
import { chmodSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// What earlier builds made: the bundle loaded by a launcher, its V8 code cache.
for (const old of ['domud.js', 'daemon.cjs', 'daemon.cjs.cache']) rmSync(join(root, 'dist', old), { force: true });

const program = join(root, 'dist/domud.cjs');
await build({
  entryPoints: [join(root, 'dist/src/daemon/main.js')],
  outfile: program,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['better-sqlite3', 'usocket', 'x11'],
  // package.ts finds the package root from its own location.
  define: { 'import.meta.url': '__domudUrl' },
  // Build output counts for nothing in the tests' coverage, which is that
  // of the sources they run: a test that starts the built program must not
  // add the bundled dependencies' unrun lines to it.
  banner: { js: `/* c8 ignore start */\nconst __domudUrl = require('node:url').pathToFileURL(__filename).href;` },
  footer: { js: '/* c8 ignore stop */' },
  legalComments: 'inline',
  logLevel: 'warning',
});
chmodSync(program, 0o755);

await import('./dbus-man.mjs');
