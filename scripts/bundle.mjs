// Bundles the daemon (dist/src/daemon/main.js, as tsc left it) into one file,
// dist/daemon.cjs, with V8's code cache for it beside it (daemon.cjs.cache),
// and the program that systemd and D-Bus activation start, dist/domud.cjs
// (src/daemon/launch.ts), which loads the one with the other.
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
// The code cache (src/daemon/codecache.ts) spares V8 most of compiling the
// bundle at every start. It is what V8 compiles eagerly; made by the node
// that builds, it is refused (and the bundle compiled from source) by
// another V8.
//
// xmlbuilder is left out: dbus-next loads it through xml2js to build
// introspection XML for objects exported through dbus-next, and domud
// exports none (it serves its checked-in XML itself). A stub that throws if
// ever called stands in for its 150 KB, which V8 would otherwise parse at
// every start.
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
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { parseInterface, specToJSON } = await import(join(root, 'dist/src/daemon/bus/contract.js'));

const contract = {};
for (const file of readdirSync(join(root, 'docs/dbus')).filter((f) => f.endsWith('.xml'))) {
  const name = file.slice(0, -'.xml'.length);
  contract[name] = specToJSON(await parseInterface(name, readFileSync(join(root, 'docs/dbus', file), 'utf8')));
}

const { writeCodeCache } = await import(join(root, 'dist/src/daemon/codecache.js'));

/** Resolves xmlbuilder to a module that throws if used (see above). */
const noXmlBuilder = {
  name: 'no-xmlbuilder',
  setup(b) {
    b.onResolve({ filter: /^xmlbuilder$/ }, () => ({ path: 'xmlbuilder', namespace: 'domud-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'domud-stub' }, () => ({
      contents: "const no = () => { throw new Error('xmlbuilder is not in the domud bundle'); };\nmodule.exports = { create: no, begin: no, stringWriter: no, streamWriter: no, implementation: {} };\n",
      loader: 'js',
    }));
  },
};

// What both bundles share. Build output counts for nothing in the tests'
// coverage, which is that of the sources they run: a test that starts the
// built program must not add the bundled dependencies' unrun lines to it.
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', footer: { js: '/* c8 ignore stop */' }, logLevel: 'warning' };
const uncovered = '/* c8 ignore start */';

rmSync(join(root, 'dist/domud.js'), { force: true }); // the ES module bundle of earlier builds
const bundle = join(root, 'dist/daemon.cjs');
await build({
  ...common,
  entryPoints: [join(root, 'dist/src/daemon/main.js')],
  outfile: bundle,
  external: ['better-sqlite3', 'usocket', 'x11'],
  define: {
    DOMUD_CONTRACT: JSON.stringify(JSON.stringify(contract)),
    // package.ts finds the package root from its own location.
    'import.meta.url': '__domudUrl',
  },
  banner: { js: `${uncovered}\nconst __domudUrl = require('node:url').pathToFileURL(__filename).href;` },
  plugins: [noXmlBuilder],
  legalComments: 'inline',
});
// The bundle is a module the program loads, not a program: without main.ts's
// #! line, which V8 takes only at the very start of a script.
const text = readFileSync(bundle, 'utf8');
if (text.startsWith('#!')) writeFileSync(bundle, text.slice(text.indexOf('\n') + 1));
chmodSync(bundle, 0o644);
writeCodeCache(bundle);

await build({
  ...common,
  entryPoints: [join(root, 'dist/src/daemon/launch.js')],
  outfile: join(root, 'dist/domud.cjs'),
  banner: { js: uncovered },
});
