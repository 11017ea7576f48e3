import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { classify, firstLine } from '../../src/xm/classify.js';
import {
  ConfigValueError,
  DomainExistsError,
  DomainNotFoundError,
  ListParseError,
  openToolstack,
  ToolstackFailedError,
  ToolstackMissingError,
} from '../../src/xm/index.js';
import { SIM, sim, stateDir } from '../../sim/testing.js';

/** A directory for PATH holding the simulator under the names given. */
function binDir(t: Parameters<typeof stateDir>[0], names: string[]): string {
  const dir = stateDir(t);
  for (const n of names) symlinkSync(SIM, join(dir, n));
  return dir;
}

t.test('auto prefers xl, then xm, on the PATH it is given', async (t) => {
  const state = stateDir(t);
  const both = binDir(t, ['xm', 'xl']);
  const ts = await openToolstack({ command: 'auto', timeoutMs: 5000, env: { PATH: `relative/dir:${both}`, XMSIM_STATE: state } });
  t.equal(ts.kind, 'xl');
  t.equal(ts.command, join(both, 'xl'));
  // the simulator reads its flavour from argv0, so the header says xl as well
  t.match(await ts.list(), [{ name: 'Domain-0' }]);
  const xmOnly = binDir(t, ['xm']);
  const xm = await openToolstack({ command: 'auto', timeoutMs: 5000, env: { PATH: xmOnly, XMSIM_STATE: state } });
  t.equal(xm.kind, 'xm');
  t.equal(xm.command, join(xmOnly, 'xm'));
});

t.test('xm and xl are looked up by name', async (t) => {
  const dir = binDir(t, ['xm']);
  const xm = await openToolstack({ command: 'xm', timeoutMs: 5000, env: { PATH: dir } });
  t.equal(xm.kind, 'xm');
  await t.rejects(openToolstack({ command: 'xl', timeoutMs: 5000, env: { PATH: dir } }), ToolstackMissingError);
});

t.test('nothing on PATH: ToolstackMissingError', async (t) => {
  const empty = stateDir(t);
  const e = await openToolstack({ command: 'auto', timeoutMs: 5000, env: { PATH: empty } }).catch((e) => e);
  t.type(e, ToolstackMissingError);
  t.equal(e.code, 'ToolstackMissing');
  t.match(e.message, /neither xl nor xm/);
});

t.test('a path: its basename, the flavour option, or a probe of its list header', async (t) => {
  const state = stateDir(t);
  const dir = binDir(t, ['xl']);
  // the basename decides without running anything
  t.equal((await openToolstack({ command: join(dir, 'xl'), timeoutMs: 5000, env: { XMSIM_STATE: state, XMSIM_FLAVOR: 'xm' } })).kind, 'xl');
  t.equal((await openToolstack({ command: SIM, flavour: 'xl', timeoutMs: 5000, env: { XMSIM_STATE: state, XMSIM_FLAVOR: 'xm' } })).kind, 'xl');
  t.equal((await openToolstack({ command: SIM, timeoutMs: 5000, env: { XMSIM_STATE: state, XMSIM_FLAVOR: 'xl' } })).kind, 'xl');
  t.equal((await openToolstack({ command: SIM, timeoutMs: 5000, env: { XMSIM_STATE: state, XMSIM_FLAVOR: 'xm' } })).kind, 'xm');
});

t.test('a probe that fails or reads garbage refuses to open', async (t) => {
  const state = stateDir(t);
  const env = { XMSIM_STATE: state, XMSIM_FLAVOR: 'xm' };
  await sim(env, ['fault', 'list', '--fail', '1', '--text', 'Error: Unable to connect to xend: Connection refused. Is xend running?']);
  await t.rejects(openToolstack({ command: SIM, timeoutMs: 5000, env }), ToolstackFailedError);
  await sim(env, ['fault', 'list', '--garbage', '--times', '1']);
  await t.rejects(openToolstack({ command: SIM, timeoutMs: 5000, env }), ListParseError);
  // without XMSIM_STATE the simulator refuses to run at all
  await t.rejects(openToolstack({ command: SIM, timeoutMs: 5000 }), /XMSIM_STATE/);
});

t.test('bad Command values', async (t) => {
  await t.rejects(openToolstack({ command: 'bin/xm-sim', timeoutMs: 5000 }), ConfigValueError);
  await t.rejects(openToolstack({ command: '/nonexistent/xm', timeoutMs: 5000 }), ToolstackMissingError);
  const dir = stateDir(t);
  await t.rejects(openToolstack({ command: dir, timeoutMs: 5000 }), ToolstackMissingError, 'a directory');
  const plain = join(dir, 'xm');
  writeFileSync(plain, '#!/bin/sh\n', { mode: 0o644 });
  await t.rejects(openToolstack({ command: plain, timeoutMs: 5000 }), ToolstackMissingError, 'not executable');
});

t.test('a binary that disappears after opening: ToolstackMissingError per call', async (t) => {
  const dir = stateDir(t);
  const copy = join(dir, 'bin', 'xl');
  mkdirSync(join(dir, 'bin'));
  writeFileSync(copy, `#!/bin/sh\nexec '${SIM}' "$@"\n`, { mode: 0o755 });
  const ts = await openToolstack({ command: copy, timeoutMs: 5000, env: { XMSIM_STATE: dir } });
  t.match(await ts.list(), [{ name: 'Domain-0' }]);
  chmodSync(copy, 0o644);
  await t.rejects(ts.list(), { code: 'ToolstackMissing', message: /not executable/ });
  rmSync(copy);
  await t.rejects(ts.list(), { code: 'ToolstackMissing', message: /no such file/ });
  await t.rejects(ts.destroy('web'), ToolstackMissingError, 'destroy does not swallow it');
});

t.test('classify and firstLine', async (t) => {
  t.equal(firstLine('', ''), '');
  t.equal(firstLine('\n  \n', 'Usage: xm <subcommand>\n'), 'Usage: xm <subcommand>');
  t.equal(firstLine('Parsing config from /x.cfg\nFailed to parse config: Invalid argument\n'), 'Failed to parse config: Invalid argument');
  t.equal(firstLine('Shutting down domain 5\nWaiting for 1 domains\nshutdown failed (rc=-3)\n'), 'shutdown failed (rc=-3)');
  const argv = ['/usr/sbin/xm', 'list'];
  const e = classify(argv, 1, '', '');
  t.type(e, ToolstackFailedError);
  t.match(e.message, /no error output/);
  t.match(classify(argv, null, 'x', '').message, /exit status none/);
  t.type(classify(argv, 1, 'foo is an invalid domain identifier (rc=-6)', ''), DomainNotFoundError);
  // What the real xl create prints for a missing kernel (seen in test/xen): the
  // clean-up's "Non-existant domain" must not turn the failure into not-found.
  const failedCreate = [
    'Parsing config from /var/lib/domud/domains/e2e-bad.cfg',
    "xc: error: panic: xg_dom_core.c:205: failed to open file '/nonexistent/vmlinuz': No such file or directory: Internal error",
    'libxl: error: libxl_dom.c:583:libxl__build_dom: xc_dom_kernel_file failed: No such file or directory',
    'libxl: error: libxl_domain.c:1137:libxl__destroy_domid: Domain 2:Non-existant domain',
  ].join('\n');
  const c = classify(['/usr/sbin/xl', 'create', '/var/lib/domud/domains/e2e-bad.cfg'], 3, failedCreate, '');
  t.type(c, ToolstackFailedError);
  t.match(c.message, /failed to open file '\/nonexistent\/vmlinuz'/);
  t.type(classify(argv, 1, "Can't get domain name of domain id '5', maybe this domain does not exist.", ''), DomainNotFoundError);
  t.type(classify(argv, 1, 'libxl: error: libxl_domain.c:1003:libxl__domain_make: Domain with name "a" already exists.', ''), DomainExistsError);
  // xm 3.0.x puts usage on stdout next to the error
  t.type(classify(argv, 1, "Error: Domain 'x' does not exist.", 'Usage: xm list'), DomainNotFoundError);
});
