// Bundles the daemon (dist/src/daemon/main.js, as tsc left it) into one file,
// dist/domud.js, the program that systemd and D-Bus activation start.
//
// Why: Node's ESM loader resolves, reads and links every module file on its
// own; domud and its dependencies are some two hundred of them, which was
// most of the daemon's start-up time. One file loads in a fraction of that.
// The service part stays lazy: main.ts's import('./daemon.js') becomes a
// function in the bundle that runs only when called, after the toolstack's
// first `list` has been started.
//
// better-sqlite3 stays outside (a native addon found through its own
// package), as do dbus-next's optional native transports, which are never
// installed (.npmrc: omit=optional). esbuild-wasm rather than esbuild: the
// same bundler without a platform binary to install.
import { build } from 'esbuild-wasm';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'dist/src/daemon/main.js')],
  outfile: join(root, 'dist/domud.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'usocket', 'x11'],
  // CommonJS dependencies bundled into an ES module still call require()
  // for Node's own modules.
  banner: { js: "import { createRequire as __domudRequire } from 'node:module';\nconst require = __domudRequire(import.meta.url);" },
  legalComments: 'inline',
  logLevel: 'warning',
});
