// The systemd unit: `systemd-analyze verify` is clean on the installed
// layout, and its exposure (`systemd-analyze security`) is no worse than
// systemd-machined's, the service domud models itself on.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installFiles } from './install.js';

const UNITDIR = 'lib/systemd/system';
const MACHINED = '/lib/systemd/system/systemd-machined.service';

function analyze(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** "→ Overall exposure level for x.service: 3.0 OK 🙂" → 3.0 */
function exposure(unitFile: string): number {
  const r = analyze(['security', '--offline=yes', '--no-pager', unitFile]);
  const m = /Overall exposure level for \S+: ([0-9.]+)/.exec(r.stdout);
  if (!m) throw new Error(`no exposure for ${unitFile}: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

// The installed files, plus the host's units (dbus.socket, sysinit.target…)
// that Type=dbus and the default dependencies pull in, so that verify can
// run offline against this root and check ExecStart= there.
const staged = installFiles(['--without-node-modules']);
t.teardown(staged.remove);
const root = staged.destdir;
cpSync('/lib/systemd/system/', join(root, UNITDIR), { recursive: true, force: false, errorOnExist: false, dereference: false });
const verify = (unit: string) => analyze(['verify', `--root=${root}`, unit]);

t.test('systemd-analyze verify is clean, through the alias too', async (t) => {
  for (const unit of ['domud.service', 'dbus-org.domud.Domud1.service']) {
    t.same(verify(unit), { status: 0, stdout: '', stderr: '' }, unit);
  }
});

t.test('verify would notice a bad unit', async (t) => {
  const file = join(root, UNITDIR, 'domud-broken.service');
  writeFileSync(file, readFileSync(join(root, UNITDIR, 'domud.service'), 'utf8').replace('KillMode=process', 'KillMode=sometimes').replace('/usr/sbin/domud', '/usr/sbin/domud-missing'));
  const r = verify('domud-broken.service');
  t.match(r.stderr, /KillMode|kill mode/i, 'a bad value is reported');
  t.match(r.stderr, /domud-missing is not executable/, 'a missing ExecStart= binary is reported');
});

t.test('exposure no worse than systemd-machined', async (t) => {
  const domud = exposure(join(root, UNITDIR, 'domud.service'));
  const machined = exposure(MACHINED);
  t.comment(`systemd-analyze security --offline=yes: domud.service ${domud.toFixed(1)}, systemd-machined.service ${machined.toFixed(1)}`);
  t.ok(domud <= machined, `domud ${domud} <= machined ${machined}`);
});

t.test('what the unit promises', async (t) => {
  const unit = readFileSync(join(root, UNITDIR, 'domud.service'), 'utf8');
  const settings = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);
  t.same(settings('Type'), ['dbus']);
  t.same(settings('BusName'), ['org.domud.Domud1']);
  t.same(settings('ExecStart'), ['/usr/sbin/domud']);
  t.same(settings('StateDirectory'), ['domud']);
  t.same(settings('Restart'), ['on-failure']);
  t.same(settings('KillMode'), ['process'], 'xl monitors and device models outlive a restart');
  t.same(settings('Alias'), ['dbus-org.domud.Domud1.service']);
  t.same(settings('WantedBy'), ['multi-user.target']);
  t.same(settings('MemoryDenyWriteExecute'), [], "node's JIT needs W+X memory");
  t.match(settings('CapabilityBoundingSet').join(' '), /\bCAP_NET_ADMIN\b/);
});
