// The parts of domuctl that need no daemon: parsing, help, exit codes,
// formatting, the progress indicator.
import t from 'tap';
import { busAddress, bytes, parse, uint } from '../../src/cli/args.js';
import { humanSize, jobFailure } from '../../src/cli/commands/images.js';
import { doctorExit } from '../../src/cli/commands/manager.js';
import { formatLine, describe } from '../../src/cli/commands/monitor.js';
import { Exit, exitCodeFor } from '../../src/cli/exit.js';
import { describeFailure } from '../../src/cli/main.js';
import { fields, isoTime, plural, table } from '../../src/cli/output.js';
import { progress, progressBar } from '../../src/cli/progress.js';
import { COMMANDS } from '../../src/cli/spec.js';
import { domuctl, spawnDomuctl } from './fixtures/domuctl.js';

t.setTimeout(120_000);

t.test('parse', async (t) => {
  const p = parse(['--bus', 'session', 'create', '--memory', '64', 'web1', '--disk', 'a', '--disk', 'b']);
  t.match(p, { kind: 'run', command: { name: 'create' }, args: ['web1'], bus: 'session', json: false, values: { memory: '64', disk: ['a', 'b'] } });
  t.match(parse(['--json', 'list']), { kind: 'run', bus: 'system', json: true });
  t.match(parse(['--', 'show', 'x']), { kind: 'run', command: { name: 'show' }, args: ['x'] });
  t.match(parse(['--help']), { kind: 'help', text: /^Usage: domuctl/ });
  t.match(parse(['-h', 'create']), { kind: 'help', text: /--disk SPEC/ });
  t.throws(() => parse([]), { message: 'no command given; see domuctl --help', code: Exit.Usage });
  t.throws(() => parse(['frob']), { message: /unknown command "frob"/, code: 2 });
  t.throws(() => parse(['list', 'x']), { message: 'list takes no arguments; see domuctl list --help' });
  t.throws(() => parse(['show']), { message: 'show takes NAME; see domuctl show --help' });
  t.throws(() => parse(['list', '--memory', '5']), { message: "Unknown option '--memory'", code: 2 });
  t.throws(() => parse(['--bus']), { message: /--bus/, code: 2 });
});

t.test('parse: image commands are two words', async (t) => {
  t.match(parse(['image', 'list']), { kind: 'run', command: { name: 'image list' }, args: [] });
  t.match(parse(['--bus', 'session', 'image', 'create', '--size', '4G', 'base', '--package', 'curl', '--package', 'vim']), {
    kind: 'run',
    command: { name: 'image create' },
    args: ['base'],
    values: { size: '4G', package: ['curl', 'vim'] },
  });
  t.match(parse(['image', 'remove', 'base', '--json']), { command: { name: 'image remove' }, args: ['base'], json: true });
  t.match(parse(['create', 'web1', '--image', 'base', '--disk-size', '8G', '--ssh-key', '/k.pub']), { args: ['web1'], values: { image: 'base', 'disk-size': '8G', 'ssh-key': '/k.pub' } });
  t.throws(() => parse(['image']), { message: 'image needs a command: list, show, create, remove; see domuctl --help', code: 2 });
  t.throws(() => parse(['image', 'frob']), { message: 'unknown command "image frob"; see domuctl --help', code: 2 });
  t.throws(() => parse(['image', 'show']), { message: 'image show takes NAME; see domuctl image show --help' });
  t.throws(() => parse(['image', 'list', '--size', '1']), { message: "Unknown option '--size'", code: 2 });
  t.match(parse(['image', '--help']), { kind: 'help', text: /\n  image create NAME +Build an image/ });
  t.match(parse(['image', 'create', '--help']), { kind: 'help', text: /^Usage: domuctl \[--bus BUS\] \[--json\] image create \[OPTIONS\] NAME\n[\s\S]*--no-wait/ });
});

t.test('bytes and humanSize', async (t) => {
  t.equal(bytes('size', '4096'), 4096n);
  t.equal(bytes('size', '4G'), 4n * 1024n ** 3n);
  t.equal(bytes('size', '512m'), 512n * 1024n ** 2n);
  t.equal(bytes('size', '2T'), 2n * 1024n ** 4n);
  for (const bad of ['0', '0G', '-1', '1.5G', '4GB', 'x', '', '16777216T']) t.throws(() => bytes('size', bad), { message: /^--size: expected a size like 4G/, code: 2 }, bad);
  t.equal(humanSize(4 * 1024 ** 3), '4 GiB');
  t.equal(humanSize(1536 * 1024 ** 2), '1.5 GiB');
  t.equal(humanSize(512), '512 B');
  t.equal(humanSize(3 * 1024 ** 5), '3072 TiB');
});

t.test('a failed job as one error line, its output indented after it', async (t) => {
  const e = jobFailure('building base', { success: false, message: 'org.domud.Domud1.Error.ImageFailed: debootstrap failed: exit 1\nW: a\n\nW: b' });
  t.equal(e.message, 'building base failed: debootstrap failed: exit 1 (org.domud.Domud1.Error.ImageFailed)\n  W: a\n  W: b');
  t.equal(e.code, Exit.Failure);
  t.equal(jobFailure('x', { success: false, message: 'org.domud.Domud1.Error.NoSuchImage: gone' }).code, Exit.NotFound, 'the exit status of the error named');
  t.match(jobFailure('x', { success: false, message: 'odd: words' }), { message: 'x failed: odd: words (org.freedesktop.DBus.Error.Failed)', code: Exit.Failure }, 'no name: Failed');
});

t.test('busAddress and uint', async (t) => {
  t.equal(busAddress('system', {}), 'unix:path=/var/run/dbus/system_bus_socket');
  t.equal(busAddress('system', { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/x' }), 'unix:path=/x');
  t.equal(busAddress('session', { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/s' }), 'unix:path=/s');
  t.throws(() => busAddress('session', {}), { message: /DBUS_SESSION_BUS_ADDRESS is not set/, code: 2 });
  t.equal(busAddress('tcp:host=h,port=1', {}), 'tcp:host=h,port=1');
  t.throws(() => busAddress('nowhere', {}), { code: 2 });
  t.equal(uint('memory', '128'), 128);
  for (const bad of ['0', '-1', '1.5', 'x', '4294967296']) t.throws(() => uint('memory', bad), { message: /^--memory: expected a whole number/, code: 2 }, bad);
});

t.test('exit codes', async (t) => {
  t.equal(exitCodeFor('org.domud.Domud1.Error.NoSuchDomain'), 3);
  t.equal(exitCodeFor('org.domud.Domud1.Error.ToolstackFailed'), 7);
  t.equal(exitCodeFor('org.domud.Domud1.Error.Timeout'), 8);
  t.equal(exitCodeFor('org.domud.Domud1.Error.PoolExhausted'), 6);
  t.equal(exitCodeFor('org.freedesktop.DBus.Error.InteractiveAuthorizationRequired'), 5);
  t.equal(exitCodeFor('org.domud.Domud1.Error.NetworkFailed'), 1);
  t.same(describeFailure(Object.assign(new Error('a\n  at stack'), { errorName: 'org.x.Y' })), { message: 'a (org.x.Y)', code: 1 });
  t.same(describeFailure(Object.assign(new Error(''), { errorName: 'org.domud.Domud1.Error.Timeout' })), { message: 'failed (org.domud.Domud1.Error.Timeout)', code: 8 });
  t.same(describeFailure(Object.assign(new Error('bye'), { errorName: 'org.domud.Domud1.Error.ShuttingDown' })), {
    message: 'domud is not running: bye (org.domud.Domud1.Error.ShuttingDown)',
    code: 9,
  });
  t.match(describeFailure(new TypeError('oops')), { message: /^internal error: TypeError: oops/, code: 1 });
  t.match(describeFailure('odd'), { message: 'internal error: odd', code: 1 });
});

t.test('doctor fails on errors only', async (t) => {
  t.equal(doctorExit([]), 0);
  t.equal(doctorExit([{ id: 'a', status: 'ok', message: '' }, { id: 'b', status: 'warning', message: '' }]), 0);
  t.equal(doctorExit([{ id: 'a', status: 'ok', message: '' }, { id: 'c', status: 'error', message: '' }]), 1);
});

t.test('output', async (t) => {
  t.equal(table([{ title: 'A' }, { title: 'N', right: true }, { title: 'LAST' }], [['xyz', '1', 'a'], ['q', '100', '']]), 'A      N  LAST\nxyz    1  a\nq    100\n');
  t.equal(fields([['Name', 'x'], ['Domain ID', '3']]), '     Name: x\nDomain ID: 3\n');
  t.equal(isoTime(0), '-');
  t.equal(isoTime(1_700_000_000_123_456), '2023-11-14T22:13:20.123Z');
  t.equal(plural(1, 'lease', 'leases'), '1 lease');
  t.equal(plural(0, 'lease', 'leases'), '0 leases');
});

t.test('monitor lines', async (t) => {
  const unknown = describe({ path: '/org/domud/Domud1', iface: 'org.domud.Domud1.Manager', member: 'Frobbed', body: ['x', 3n] });
  t.same(unknown, { signal: 'Frobbed', path: '/org/domud/Domud1', args: ['x', 3] });
  t.equal(formatLine(unknown), 'Frobbed /org/domud/Domud1 ["x",3]');
  const pc = describe({ path: '/p', iface: 'org.freedesktop.DBus.Properties', member: 'PropertiesChanged', body: ['i', { State: { value: 'running' } }, ['Vif']] });
  t.equal(formatLine(pc), 'PropertiesChanged /p State=running Vif=?');
});

t.test('progress only on a terminal', async (t) => {
  let written = '';
  const tty = { isTTY: true, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
  const stop = progress('creating web1', tty);
  await new Promise((r) => setTimeout(r, 250));
  stop();
  t.match(written, /^\r\| creating web1 0s\r\/ creating web1 0s/);
  t.ok(written.endsWith('\r\x1b[K'), 'clears its line');
  const pipe = { isTTY: false, write: () => t.fail('wrote to a pipe') } as unknown as NodeJS.WriteStream;
  progress('x', pipe)();
  const bar = progressBar('y', pipe);
  bar.set(0.5);
  bar.done();
});

t.test('a bar once the fraction is known', async (t) => {
  let written = '';
  const tty = { isTTY: true, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
  const bar = progressBar('building base', tty);
  t.match(written, /^\r\| building base 0s$/, 'a spinner while it is not known');
  written = '';
  bar.set(0.5);
  t.equal(written, `\r[${'#'.repeat(12)}${'.'.repeat(12)}]  50% building base 0s\x1b[K`);
  written = '';
  bar.set(1.7);
  t.match(written, /^\r\[#{24}\] 100% /, 'clamped');
  bar.set(null);
  bar.done();
  t.ok(written.endsWith('\r\x1b[K'));
});

t.test('--help for domuctl and every command; the executable\'s exit statuses', async (t) => {
  const main = await spawnDomuctl(['--help']);
  t.equal(main.code, 0);
  t.match(main.stdout, /Exit status:\n {2}0 {3}success\n/);
  const results = await Promise.all(COMMANDS.map((c) => domuctl([...c.name.split(' '), '--help'])));
  for (const [i, c] of COMMANDS.entries()) {
    t.match(main.stdout, new RegExp(`\\n  ${c.name}\\b`));
    const r = results[i]!;
    t.equal(r.code, 0, c.name);
    t.match(r.stdout, new RegExp(`^Usage: domuctl \\[--bus BUS\\] \\[--json\\] ${c.name}`));
    t.match(r.stdout, /10 {2}the domain or image is not in a state/);
  }
  const bad = await spawnDomuctl(['show']);
  t.equal(bad.code, 2);
  t.equal(bad.stderr, 'domuctl: show takes NAME; see domuctl show --help\n');
  t.equal(bad.stdout, '');
});
