// Hostile input over D-Bus: thousands of bad names, option dictionaries,
// addresses and MAC addresses, sent fast from dbus-next clients. Each gets the
// contract's error; the lease database and the state directory are unchanged
// afterwards; and neither the toolstack nor `ip` ever runs for them (both are
// wrapped with loggers, and the daemon's children are watched). Values that
// are nasty but valid (shell syntax in the kernel command line) are accepted
// and reach the toolstack only as `create <state>/domains/<name>.cfg`.
// Then bad configuration files for `domud --config`.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dbus from 'dbus-next';
import t from 'tap';
import { Client, E, MANAGER, MANAGER_IFACE, BUS_NAME, builtEntry, daemonPid, dbDump, dbRows, errorName, rng, sandbox, settle, stateListing, v } from './support.js';

const SEED = Number(process.env.DOMUD_HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const IA = `${E}InvalidArgument`;
const IN = `${E}InvalidName`;
const AU = `${E}AddressUnavailable`;
const INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs';

interface Case {
  what: string;
  member: string;
  signature: string;
  body: unknown[];
  expect: readonly string[];
}

// ---- generators ----

function hostileNames(rand: () => number): string[] {
  const names = [
    '', '-', '-a', '--help', '--config=/tmp/x', '.', '..', '.hidden', '_x', '../etc/passwd', 'a/b', '/', '/etc/shadow', 'a\\b',
    "a'b", 'a"b', "'", '"', 'a b', ' a', 'a ', 'a\nb', '\n', 'a\tb', 'a\rb', '\x01', 'a\x7f', 'a\x1b[31mb', 'a\x08b',
    'x'.repeat(64), 'x'.repeat(1000), 'y'.repeat(100_000), 'é', 'dömä', '日本', '🙂', 'a\u200bb', 'Ａ', 'a\u0301', '\ud800', 'a\u2028b',
    '$(reboot)', 'a$(touch /tmp/domud-pwned)', '`id`', 'a`id`', 'a;b', ';reboot', 'a|b', 'a&b', 'a&&b', 'a>b', 'a<b', '${IFS}', 'a$IFS', 'a*', 'a?',
    '~root', 'a,b', 'a:b', 'a=b', 'a@b', 'a+b', '%s%n', 'a#b', 'a!b', 'a(b)', 'a[b]', 'a{b}', "a'$(id)'",
  ];
  // Domain-0 in every spelling of its case.
  const word = 'domain';
  for (let m = 0; m < 1 << word.length; m++) names.push(`${[...word].map((ch, i) => (m & (1 << i) ? ch.toUpperCase() : ch)).join('')}-0`);
  // Every printable and control ASCII character the rule forbids, at the start, inside and at the end.
  const allowed = /[A-Za-z0-9_.-]/;
  for (let code = 1; code < 128; code++) {
    const ch = String.fromCharCode(code);
    if (allowed.test(ch)) continue;
    names.push(`${ch}web`, `we${ch}b`, `web${ch}`);
  }
  for (const lead of ['_', '.', '-']) names.push(`${lead}web`, `${lead}${'a'.repeat(10)}`);
  // Random mixes: a valid stem with something bad spliced in.
  const bad = ['/', ' ', '\n', '\t', '$(', '`', ';', "'", '"', '\\', 'é', '\u00a0', '\x7f', '*', '|'];
  for (let i = 0; i < 150; i++) {
    const stem = `g${Math.floor(rand() * 1e6)}`;
    const at = Math.floor(rand() * (stem.length + 1));
    names.push(stem.slice(0, at) + bad[Math.floor(rand() * bad.length)] + stem.slice(at));
  }
  return names;
}

const WRONG: Array<[string, unknown]> = [
  ['s', 'x'], ['u', 128], ['i', -1], ['i', 128], ['t', 128n], ['x', -1n], ['b', true], ['d', 1.5], ['y', 7], ['n', 1], ['q', 1],
  ['o', '/a'], ['g', 's'], ['as', ['a']], ['ai', [1]], ['aas', [['a']]], ['a{sv}', {}], ['v', v('u', 128)], ['v', v('s', '/boot/x')], ['(su)', ['a', 1]], ['ay', Buffer.from('abc')],
];
const TYPES: Record<string, string> = { memory: 'u', vcpus: 'u', kernel: 's', ramdisk: 's', extra: 's', root: 's', disks: 'as', address: 's', mac: 's' };

function badOptions(): Array<[string, Record<string, dbus.Variant>, readonly string[]]> {
  const out: Array<[string, Record<string, dbus.Variant>, readonly string[]]> = [];
  const add = (what: string, o: Record<string, dbus.Variant>, expect: readonly string[] = [IA]) => out.push([what, o, expect]);
  for (const key of ['colour', 'Memory', 'MEMORY', ' memory', 'memory ', '', 'name', 'disk', 'ip', 'é', 'k'.repeat(10_000), 'memory\n']) add(`unknown key ${JSON.stringify(key.slice(0, 20))}`, { [key]: v('u', 128) });
  for (const [key, want] of Object.entries(TYPES)) {
    for (const [sig, val] of WRONG) if (sig !== want) add(`${key} as ${sig}`, { [key]: v(sig, val) });
  }
  for (const n of [0, 1, 15, 1024 * 1024 + 1, 0xffffffff]) add(`memory ${n}`, { memory: v('u', n) });
  for (const n of [0, 513, 0xffffffff]) add(`vcpus ${n}`, { vcpus: v('u', n) });
  const long = (n: number) => `/${'a'.repeat(n)}`;
  for (const key of ['kernel', 'ramdisk']) {
    for (const p of ['vmlinuz', '../vmlinuz', './vmlinuz', '~/vmlinuz', 'boot/../vmlinuz', ' /boot/vmlinuz', long(5000), '/boot/vmlinuz\n', '/boot/vmlinuz-é', '/boot/\x01', '/boot/vm"linuz\x7f']) {
      add(`${key} ${JSON.stringify(p.slice(0, 20))}`, { [key]: v('s', p) });
    }
  }
  add('kernel empty', { kernel: v('s', '') });
  for (const key of ['extra', 'root']) {
    for (const x of ['x'.repeat(1025), 'z'.repeat(100_000), 'a\nb', 'console=hvc0\n[evil]', 'a\x00b'.replace('\x00', '\x01'), 'café', '\x1b[2J', 'a\tb', 'ok\r']) {
      add(`${key} ${JSON.stringify(x.slice(0, 20))}`, { [key]: v('s', x) });
    }
  }
  add('17 disks', { disks: v('as', Array.from({ length: 17 }, (_, i) => `phy:/dev/vg/d${i},xvda${i},w`)) });
  for (const d of ['nonsense', 'phy:/dev/a b,xvda,w', 'phy:/dev/x,xvda', 'phy:/dev/x,xvda,z', 'phy:/dev/x,xvda,w\n', `phy:/${'d'.repeat(2000)},xvda,w`, 'phy:/dev/é,xvda,w', '']) {
    add(`disk ${JSON.stringify(d.slice(0, 24))}`, { disks: v('as', [d]) });
  }
  for (const a of [
    '', ' ', '172.20.216', '172.20.216.5.6', '172.20.216.05', '172.020.216.5', '172.20.216.256', '172.20.216.-1', '0x0a.0.0.1', '172.20.216.5/32',
    '172.20.216.5 ', ' 172.20.216.5', '172.20.216.5\n', 'localhost', '::1', 'fe80::1', '::ffff:172.20.216.5', '2001:db8::5', '172.20.216.5%eth0', '１７２.20.216.5', '1e3.0.0.0', '172.20.216.5:80',
  ]) {
    add(`address ${JSON.stringify(a)}`, { address: v('s', a) });
  }
  for (const a of ['10.0.0.1', '0.0.0.0', '255.255.255.255', '127.0.0.1', '172.20.216.0', '172.20.216.1', '172.20.216.255', '172.20.216.10']) {
    add(`address ${a}`, { address: v('s', a) }, [AU]);
  }
  for (let x = 0; x < 256; x++) {
    add(`address 172.20.215.${x}`, { address: v('s', `172.20.215.${x}`) }, [AU]);
    add(`address 172.20.217.${x}`, { address: v('s', `172.20.217.${x}`) }, [AU]);
  }
  for (const m of [
    '', '00:16:3e:00:00', '00:16:3e:00:00:00:00', '00-16-3e-00-00-01', '0016.3e00.0001', '00:16:3e:0:0:1', '00:16:3e:00:00:0g', 'zz:zz:zz:zz:zz:zz',
    ' 00:16:3e:00:00:01', '00:16:3e:00:00:01\n', '00:16:3e:00:00:01 ', '00163e000001', '00:16:3e:00:00:001', '00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '33:33:00:00:00:01',
  ]) {
    add(`mac ${JSON.stringify(m)}`, { mac: v('s', m) });
  }
  for (let b = 1; b < 256; b += 2) add(`multicast mac ${b.toString(16)}`, { mac: v('s', `${b.toString(16).padStart(2, '0')}:16:3e:00:00:01`) });
  return out;
}

function cases(rand: () => number): Case[] {
  const out: Case[] = [];
  const names = hostileNames(rand);
  for (const n of names) {
    const w = JSON.stringify(n.slice(0, 30));
    out.push(
      { what: `CreateDomain ${w}`, member: 'CreateDomain', signature: 'sa{sv}', body: [n, {}], expect: [IN] },
      { what: `CreateDomain ${w} with options`, member: 'CreateDomain', signature: 'sa{sv}', body: [n, { memory: v('u', 128), extra: v('s', '$(reboot)') }], expect: [IN] },
      { what: `StartDomain ${w}`, member: 'StartDomain', signature: 's', body: [n], expect: [IN] },
      { what: `ShutdownDomain ${w}`, member: 'ShutdownDomain', signature: 'sa{sv}', body: [n, { wait: v('b', true) }], expect: [IN] },
      { what: `DestroyDomain ${w}`, member: 'DestroyDomain', signature: 's', body: [n], expect: [IN] },
      { what: `GetDomain ${w}`, member: 'GetDomain', signature: 's', body: [n], expect: [IN] },
    );
  }
  let fresh = 0;
  const options = badOptions();
  for (const [what, o, expect] of options) {
    out.push({ what: `CreateDomain h${fresh} ${what}`, member: 'CreateDomain', signature: 'sa{sv}', body: [`h${fresh++}`, o], expect });
  }
  // Bad options with a bad name: a wrong type is found while reading the
  // dictionary, a bad value after the name; either error is right.
  for (let i = 0; i < 200; i++) {
    const n = names[Math.floor(rand() * names.length)]!;
    const [what, o] = options[Math.floor(rand() * options.length)]!;
    out.push({ what: `CreateDomain ${JSON.stringify(n.slice(0, 20))} ${what}`, member: 'CreateDomain', signature: 'sa{sv}', body: [n, o], expect: [IN, IA, AU] });
  }
  // Shutdown's own options, on a domain that exists.
  for (const [key, want] of Object.entries({ wait: 'b', timeout: 'u' })) {
    for (const [sig, val] of WRONG) if (sig !== want) out.push({ what: `ShutdownDomain ${key} as ${sig}`, member: 'ShutdownDomain', signature: 'sa{sv}', body: ['base-1', { [key]: v(sig, val) }], expect: [IA] });
  }
  for (const key of ['force', 'Wait', 'reboot', '']) out.push({ what: `ShutdownDomain key ${key}`, member: 'ShutdownDomain', signature: 'sa{sv}', body: ['base-1', { [key]: v('b', true) }], expect: [IA] });
  // Wrong signatures for the methods themselves.
  const sigs: Array<[string, string, unknown[]]> = [
    ['CreateDomain', 's', ['a']], ['CreateDomain', 'ss', ['a', 'b']], ['CreateDomain', 'sa{ss}', ['a', { memory: '1' }]], ['CreateDomain', 'ua{sv}', [1, {}]],
    ['CreateDomain', '', []], ['CreateDomain', 'sa{sv}s', ['a', {}, 'b']], ['StartDomain', 'u', [7]], ['StartDomain', 'ss', ['a', 'b']], ['StartDomain', '', []],
    ['DestroyDomain', 'as', [['base-1']]], ['DestroyDomain', 'v', [v('s', 'base-1')]], ['ShutdownDomain', 's', ['base-1']], ['ShutdownDomain', 'sa{sb}', ['base-1', { wait: true }]],
    ['GetDomain', 'o', ['/org']], ['ListDomains', 's', ['x']], ['ListLeases', 'u', [1]],
  ];
  for (const [member, signature, body] of sigs) out.push({ what: `${member} (${signature})`, member, signature, body, expect: [INVALID_ARGS] });
  return out;
}

/** A wrapper that logs every argument vector (hex per argument, one line per call) and then runs the real program. */
function loggingWrapper(log: string, exec: string): string {
  return `#!/bin/sh
rec=''
for a in "$@"; do rec="$rec $(printf '%s' "$a" | od -An -v -tx1 | tr -d ' \\n')"; done
echo "$$${'$'}rec" >> '${log}'
${exec}
`;
}

function readArgv(log: string): string[][] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(' ').slice(1).map((h) => Buffer.from(h, 'hex').toString('utf8')));
}

t.test(`hostile input over D-Bus (seed ${SEED})`, async (t) => {
  // No reconcile rounds during the test: any toolstack or ip call is then
  // one that a call caused.
  const s = await sandbox(t, { flavour: 'xl', config: { Daemon: { ReconcileSeconds: '3600', LogLevel: 'warn' } } }, false);
  const toolLog = join(s.dir, 'toolstack.argv');
  const ipLog = join(s.dir, 'ip.argv');
  const real = readFileSync(s.toolPath, 'utf8');
  writeFileSync(s.toolPath, real.replace(/^exec /m, `rec=''\nfor a in "$@"; do rec="$rec $(printf '%s' "$a" | od -An -v -tx1 | tr -d ' \\n')"; done\necho "x$rec" >> '${toolLog}'\nexec `));
  // `ip` is found on PATH: put a logging one first, for the daemon only.
  const ipDir = join(s.dir, 'ipbin');
  mkdirSync(ipDir);
  const realIp = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p))!;
  writeFileSync(join(ipDir, 'ip'), loggingWrapper(ipLog, `exec '${realIp}' "$@"`));
  chmodSync(join(ipDir, 'ip'), 0o755);
  const savedPath = process.env.PATH;
  process.env.PATH = `${ipDir}:${savedPath}`;
  try {
    await s.startDaemon();
  } finally {
    process.env.PATH = savedPath;
  }
  const clients = await Promise.all(Array.from({ length: 4 }, () => Client.open(s.address)));
  t.teardown(() => clients.forEach((c) => c.close()));
  const c = clients[0]!;

  // Something to protect: one running domain at .10, one stopped.
  await c.call('CreateDomain', 'sa{sv}', 'base-1', { address: v('s', '172.20.216.10') });
  await c.call('CreateDomain', 'sa{sv}', 'base-2', {});
  await c.call('ShutdownDomain', 'sa{sv}', 'base-2', { wait: v('b', true) });
  t.ok(readArgv(ipLog).length > 0, 'the ip logger sees the daemon’s ip calls');
  t.ok(readArgv(toolLog).some((a) => a[0] === 'create'), 'the toolstack logger sees the creates');

  const before = { db: dbDump(s.stateDir), files: stateListing(s.stateDir), tool: readArgv(toolLog).length, ip: readArgv(ipLog).length };
  t.equal(dbRows(s.stateDir).length, 2, 'two leases to protect');

  // Watch the daemon's children while the cases run. The one already there
  // is the long-lived `ip -batch` that carries route changes (src/net):
  // started by the creates above, not by a case.
  const pid = daemonPid(s);
  const childrenNow = (): string[] => {
    const found: string[] = [];
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(`${p} ${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`);
      } catch {
        /* gone */
      }
    }
    return found;
  };
  const already = new Set(childrenNow());
  t.ok([...already].every((c) => / ip$/.test(c)), `before the cases, only the ip -batch helper: ${[...already].join(', ') || 'none'}`);
  const children = new Set<string>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const c of childrenNow()) if (!already.has(c)) children.add(c);
      await new Promise((r) => setTimeout(r, 30));
    }
  })();

  const all = cases(rng(SEED));
  const wrong: string[] = [];
  const tally = new Map<string, number>();
  const started = Date.now();
  const BATCH = 256;
  for (let i = 0; i < all.length; i += BATCH) {
    await Promise.all(
      all.slice(i, i + BATCH).map(async (k, j) => {
        let got = 'success';
        try {
          await clients[j % clients.length]!.raw(BUS_NAME, MANAGER, MANAGER_IFACE, k.member, { signature: k.signature, body: k.body });
        } catch (e) {
          got = errorName(e);
        }
        tally.set(got, (tally.get(got) ?? 0) + 1);
        if (!k.expect.includes(got)) wrong.push(`${k.what}: got ${got.slice(0, 200)}, want ${k.expect.join(' or ')}`);
      }),
    );
  }
  const elapsed = Date.now() - started;
  watching = false;
  await watcher;

  t.ok(all.length >= 2000, `${all.length} hostile cases`);
  t.same(wrong.slice(0, 30), [], `every case got its documented error (${wrong.length} did not)`);
  t.equal(dbDump(s.stateDir), before.db, 'the lease database is unchanged, row by row');
  t.same(stateListing(s.stateDir), before.files, 'the state directory and every guest config are unchanged');
  t.same(readArgv(toolLog).slice(before.tool), [], 'no toolstack call for any hostile case');
  t.same(readArgv(ipLog).slice(before.ip), [], 'no ip call for any hostile case');
  t.same([...children], [], 'the daemon started no process at all meanwhile');
  t.ok(!existsSync('/tmp/domud-pwned'), 'no shell ran anything');
  const answered = await c.call('ListDomains');
  t.equal((answered[0] as unknown[]).length, 2, 'the daemon still answers, with its two domains');
  const summary = [...tally].sort().map(([n, x]) => `${n.replace(/^.*\./, '')}=${x}`).join(' ');
  t.comment(`hostile: seed ${SEED}, ${all.length} cases in ${elapsed} ms (${Math.round(all.length / (elapsed / 1000))}/s): ${summary}`);

  // Nasty but valid: accepted, quoted into the guest config, and the
  // toolstack sees nothing but the config's path.
  const canary = join(s.dir, 'pwned');
  const nasty: Array<[string, Record<string, dbus.Variant>]> = [
    ['n.1', { extra: v('s', `$(touch ${canary})`) }],
    ['n_2', { extra: v('s', `\`touch ${canary}\``) }],
    ['n-3', { extra: v('s', `'; touch ${canary}; '`) }],
    ['N4', { extra: v('s', `"; touch ${canary}; "`), root: v('s', `/dev/xvda1 ro $(touch ${canary})`) }],
    ['5n', { extra: v('s', '\\" \\\\ $HOME ${IFS} | & ; < > * ? [ ] # ~ %') }],
    ['x'.repeat(63), { disks: v('as', [`file:${s.dir}/a'b"c$(touch\${IFS}${canary})\`id\`;reboot,xvda,w`]) }],
    ['n7', { kernel: v('s', `${s.dir}/../${s.dir.split('/').pop()}/vmlinuz-guest`) }],
  ];
  const toolBefore = readArgv(toolLog).length;
  for (const [name, o] of nasty) {
    let got = 'success';
    try {
      await c.call('CreateDomain', 'sa{sv}', name, o);
    } catch (e) {
      got = errorName(e);
    }
    t.equal(got, 'success', `CreateDomain ${name} with ${Object.keys(o).join(', ')}`);
  }
  const calls = readArgv(toolLog).slice(toolBefore);
  const names = new Set(nasty.map(([n]) => n));
  const vetted = (a: string[]) =>
    (a.length === 2 && a[0] === 'create' && a[1] === join(s.stateDir, 'domains', `${a[1]!.slice(join(s.stateDir, 'domains').length + 1, -4)}.cfg`) && names.has(a[1]!.slice(join(s.stateDir, 'domains').length + 1, -4))) ||
    (a.length === 2 && a[0] === 'domid' && names.has(a[1]!));
  t.ok(calls.length >= nasty.length, `${calls.length} toolstack calls for ${nasty.length} creates`);
  t.same(calls.filter((a) => !vetted(a)), [], 'every toolstack argv is create <state>/domains/<name>.cfg or domid <name>');
  t.notOk(existsSync(canary), 'nothing in a value ever ran');
  const cfg = readFileSync(join(s.stateDir, 'domains', 'n.1.cfg'), 'utf8');
  t.match(cfg, `$(touch ${canary})`, 'the value reached the config verbatim, inside quotes');
  for (const [name] of nasty) await c.call('DestroyDomain', 's', name).catch((e) => t.fail(`destroy ${name}: ${errorName(e)}`));
  const rows = (d: string) => JSON.stringify((JSON.parse(d) as Array<[string, unknown]>).find(([n]) => n === 'leases'));
  t.equal(rows(dbDump(s.stateDir)), rows(before.db), 'after destroying them, the leases are as before');
  t.same(stateListing(s.stateDir), before.files, 'and so is the state directory');
  const { bad } = await settle(s, c, 10_000);
  t.same(bad, [], 'the invariants hold');
});

t.test('bad configuration files', async (t) => {
  const s = await sandbox(t, { netns: false }, false);
  const dir = join(s.dir, 'configs');
  mkdirSync(dir);
  // Anyone taking the name would show here.
  const watch = await Client.open(s.address);
  t.teardown(() => watch.close());
  const owners: string[] = [];
  watch.bus.on('message', (m: dbus.Message) => {
    if (m.member === 'NameOwnerChanged' && m.body[0] === BUS_NAME) owners.push(String(m.body[2]));
  });
  await watch.raw('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', {
    signature: 's',
    body: [`type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${BUS_NAME}'`],
  });
  const good = readFileSync(s.configPath, 'utf8');
  const rand = rng(SEED);
  const garbage = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256)));
  type Bad = { name: string; text?: string | Buffer; line: number | null; key: string | null; uid?: number; dir?: boolean };
  const bad: Bad[] = [
    { name: 'unknown-section', text: `${good}\n[Guests]\nMax=3\n`, line: good.split('\n').length + 1, key: null },
    { name: 'unknown-key', text: `[Network]\nRange=172.20.216.0/24\nColour=red\n`, line: 3, key: '[Network] Colour' },
    { name: 'key-case', text: `[Network]\nrange=172.20.216.0/24\n`, line: 2, key: '[Network] range' },
    { name: 'range-garbage', text: `[Network]\nRange=300.1.1.1/24\n`, line: 2, key: '[Network] Range' },
    { name: 'range-too-big', text: `[Network]\nRange=10.0.0.0/8\n`, line: 2, key: '[Network] Range' },
    { name: 'range-v6', text: `[Network]\nRange=fd00::/64\n`, line: 2, key: '[Network] Range' },
    { name: 'range-empty', text: `[Network]\nRange=\n`, line: 2, key: '[Network] Range' },
    { name: 'timeout-negative', text: `[Toolstack]\nTimeout=-1\n`, line: 2, key: '[Toolstack] Timeout' },
    { name: 'timeout-word', text: `[Toolstack]\nTimeout=soon\n`, line: 2, key: '[Toolstack] Timeout' },
    { name: 'timeout-huge', text: `[Toolstack]\nTimeout=${'9'.repeat(400)}\n`, line: 2, key: '[Toolstack] Timeout' },
    { name: 'command-relative', text: `[Toolstack]\nCommand=bin/xl\n`, line: 2, key: '[Toolstack] Command' },
    { name: 'command-shell', text: `[Toolstack]\nCommand=xl; reboot\n`, line: 2, key: '[Toolstack] Command' },
    { name: 'memory-zero', text: `[Domains]\nMemory=0\n`, line: 2, key: '[Domains] Memory' },
    { name: 'vcpus-word', text: `[Domains]\nVCpus=two\n`, line: 2, key: '[Domains] VCpus' },
    { name: 'kernel-relative', text: `[Domains]\nKernel=vmlinuz\n`, line: 2, key: '[Domains] Kernel' },
    { name: 'ramdisk-relative', text: `[Domains]\nRamdisk=../initrd\n`, line: 2, key: '[Domains] Ramdisk' },
    { name: 'state-relative', text: `[Daemon]\nStateDirectory=state\n`, line: 2, key: '[Daemon] StateDirectory' },
    { name: 'polkit-maybe', text: `[Daemon]\nPolkit=maybe\n`, line: 2, key: '[Daemon] Polkit' },
    { name: 'group-shell', text: `[Daemon]\nGroup=wheel;id\n`, line: 2, key: '[Daemon] Group' },
    { name: 'reconcile-zero', text: `[Daemon]\nReconcileSeconds=0\n`, line: 2, key: '[Daemon] ReconcileSeconds' },
    { name: 'loglevel-loud', text: `[Daemon]\nLogLevel=loud\n`, line: 2, key: '[Daemon] LogLevel' },
    { name: 'end-of-line-comment', text: `[Daemon]\nReconcileSeconds=5 # five\n`, line: 2, key: '[Daemon] ReconcileSeconds' },
    { name: 'twice', text: `[Daemon]\nLogLevel=info\nLogLevel=debug\n`, line: 3, key: null },
    { name: 'outside-section', text: `Range=172.20.216.0/24\n`, line: 1, key: null },
    { name: 'no-equals', text: `[Network]\nRange 172.20.216.0/24\n`, line: 2, key: null },
    { name: 'unclosed-section', text: `[Network\nRange=172.20.216.0/24\n`, line: 1, key: null },
    { name: 'binary-garbage', text: garbage, line: null, key: null },
    { name: 'nul-bytes', text: Buffer.from('[Network]\nRange=172.20.216.0/24\x00\n'), line: 2, key: '[Network] Range' },
    { name: 'huge', text: `${'# padding padding padding padding padding padding padding\n'.repeat(200_000)}[Daemon]\nBogus=1\n`, line: 200_002, key: '[Daemon] Bogus' },
    { name: 'directory', line: null, key: null, dir: true },
    { name: 'unreadable', text: good, line: null, key: null, uid: 65534 },
    { name: 'missing', line: null, key: null },
  ];
  const entry = builtEntry();
  const runOne = (b: Bad): Promise<{ code: number | null; stderr: string; ms: number }> => {
    const path = join(dir, `${b.name}.conf`);
    if (b.dir) mkdirSync(path);
    else if (b.text !== undefined) writeFileSync(path, b.text, { mode: 0o600 });
    const argv = [entry, '--config', path, '--bus', s.address];
    const cmd = b.uid === undefined ? [process.execPath, ...argv] : ['setpriv', `--reuid=${b.uid}`, `--regid=${b.uid}`, '--clear-groups', process.execPath, ...argv];
    const started = Date.now();
    return new Promise((resolve) => {
      // A plain environment: no test hooks (tap adds them to whatever it spawns,
      // and they write where another user may not), hence env -i.
      const child = spawn('env', ['-i', `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.resume();
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stderr, ms: Date.now() - started });
      });
    });
  };
  // The binary garbage fails on some line; find which, to check it is named.
  for (let i = 0; i < bad.length; i += 4) {
    await Promise.all(
      bad.slice(i, i + 4).map(async (b) => {
        const r = await runOne(b);
        const path = join(dir, `${b.name}.conf`);
        t.equal(r.code, 1, `${b.name}: exit status 1`);
        t.match(r.stderr, `domud: ${path}`, `${b.name}: the message names the file`);
        if (b.line !== null) t.match(r.stderr, `${path}:${b.line}: `, `${b.name}: and line ${b.line}`);
        else if (b.name === 'binary-garbage') t.match(r.stderr, new RegExp(`${path.replace(/[.]/g, '\\.')}:\\d+: `), `${b.name}: and a line`);
        if (b.key !== null) t.match(r.stderr, `: ${b.key}: `, `${b.name}: and the key`);
        t.equal(r.stderr.trim().split('\n').length, 1, `${b.name}: one line, no stack trace`, { stderr: r.stderr.slice(0, 2000) });
      }),
    );
  }
  // A last round trip so that any NameOwnerChanged has arrived.
  await watch.raw('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId', { signature: '', body: [] });
  t.same(owners, [], 'no bad configuration ever owned org.domud.Domud1');
  t.equal(await s.nameOwned(), false);
  t.comment(`config: ${bad.length} bad files, each refused with status 1 before the bus`);
});
