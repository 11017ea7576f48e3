// Bundles the daemon (dist/src/daemon/main.js, as tsc left it) into one file,
// dist/domud.cjs, the program that systemd and D-Bus activation start.
//
// Why: Node's ESM loader resolves, reads and links every module file on its
// own; domud and its dependencies are some two hundred of them, which was
// most of the daemon's start-up time. One file loads in a fraction of that.
// The service part stays lazy: main.ts's import('./daemon.js') becomes a
// function in the bundle that runs only when called, after the toolstack's
// first `list` has been started.
//
// CommonJS, not ESM: Node compiles and links a large ES module through the
// ESM loader, which costs some 15 ms more than its CommonJS loader does for
// the same code (measured with `--version`, which loads the whole file).
//
// The D-Bus contract (docs/dbus/*.xml) goes in parsed, as DOMUD_CONTRACT
// (src/daemon/bus/contract.ts): parsing it at start-up with a cold xml2js
// cost several milliseconds more.
//
// better-sqlite3 stays outside (a native addon found through its own
// package), as do dbus-next's optional native transports, which are never
// installed (.npmrc: omit=optional). esbuild-wasm rather than esbuild: the
// same bundler without a platform binary to install.
import { build } from 'esbuild-wasm';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { parseInterface, specToJSON } = await import(join(root, 'dist/src/daemon/bus/contract.js'));

const contract = {};
for (const file of readdirSync(join(root, 'docs/dbus')).filter((f) => f.endsWith('.xml'))) {
  const name = file.slice(0, -'.xml'.length);
  contract[name] = specToJSON(await parseInterface(name, readFileSync(join(root, 'docs/dbus', file), 'utf8')));
}

rmSync(join(root, 'dist/domud.cjs'), { force: true }); // the ES module bundle of earlier builds
await build({
  entryPoints: [join(root, 'dist/src/daemon/main.js')],
  outfile: join(root, 'dist/domud.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['better-sqlite3', 'usocket', 'x11'],
  define: {
    DOMUD_CONTRACT: JSON.stringify(JSON.stringify(contract)),
    // package.ts finds the package root from its own location.
    'import.meta.url': '__domudUrl',
  },
  banner: { js: "const __domudUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'inline',
  logLevel: 'warning',
});
