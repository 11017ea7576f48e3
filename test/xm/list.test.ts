import t from 'tap';
import { ListParseError, parseDomid, parseInfo, parseList, stateOf } from '../../src/xm/index.js';

// Literal samples of every format in the notes (xen-notes §2.1, §3.1).
const XM_302 = [
  'Name                              ID Mem(MiB) VCPUs State  Time(s)',
  'Domain-0                            0      512     1 r-----    98.2',
  'web                                 3      128     1 -b----     1.5 s:0001/p:0002',
].join('\n');
const XM_303 = [
  'Name                                      ID Mem(MiB) VCPUs State   Time(s)',
  'Domain-0                                   0     1024     2 r-----    123.4',
  'guest1                                     5      128     1 -b----      2.5',
  '',
].join('\n');
const XM_41 = [
  'Name                                        ID   Mem VCPUs      State   Time(s)',
  'Domain-0                                     0  1024     2     r-----    123.4',
  'guest1                                       5   128     1     -b----      2.5',
  'inactive                                         128     1     ------      0.0',
  '12345                                            256     2     ------      0.0',
].join('\n');
const XL = [
  'Name                                        ID   Mem VCPUs\tState\tTime(s)',
  'Domain-0                                     0  1024     2     r-----     123.4',
  'guest1                                       5   128     1     -b----       2.5',
  'rebooting                                    6   128     1     ---sr-       0.1',
  'name with spaces 7                           9    64     1     -b-ss-       0.0',
].join('\n');

t.test('xm 3.0.2 (Mem(MiB), ACM label)', async (t) => {
  t.same(parseList(XM_302), [
    { name: 'Domain-0', id: 0, memory: 512, vcpus: 1, state: 'running', flags: 'r-----', cpuTime: 98.2 },
    { name: 'web', id: 3, memory: 128, vcpus: 1, state: 'blocked', flags: '-b----', cpuTime: 1.5 },
  ]);
});

t.test('xm 3.0.3 (Mem(MiB))', async (t) => {
  t.same(parseList(XM_303), [
    { name: 'Domain-0', id: 0, memory: 1024, vcpus: 2, state: 'running', flags: 'r-----', cpuTime: 123.4 },
    { name: 'guest1', id: 5, memory: 128, vcpus: 1, state: 'blocked', flags: '-b----', cpuTime: 2.5 },
  ]);
});

t.test('xm 3.2-4.4 (Mem, empty ID for inactive domains)', async (t) => {
  const l = parseList(XM_41);
  t.same(l.map((d) => [d.name, d.id, d.memory, d.vcpus, d.state]), [
    ['Domain-0', 0, 1024, 2, 'running'],
    ['guest1', 5, 128, 1, 'blocked'],
    ['inactive', null, 128, 1, 'running'],
    ['12345', null, 256, 2, 'running'],
  ]);
});

t.test('xl (TAB header, shutdown reason letter, names with spaces)', async (t) => {
  const l = parseList(XL);
  t.same(l.map((d) => [d.name, d.id, d.memory, d.state, d.flags, d.cpuTime]), [
    ['Domain-0', 0, 1024, 'running', 'r-----', 123.4],
    ['guest1', 5, 128, 'blocked', '-b----', 2.5],
    ['rebooting', 6, 128, 'shutdown', '---sr-', 0.1],
    ['name with spaces 7', 9, 64, 'shutdown', '-b-ss-', 0],
  ]);
});

t.test('leading blank lines and a header alone', async (t) => {
  t.same(parseList('\n\n' + XM_303.split('\n')[0] + '\n'), []);
});

t.test('state precedence: crashed > dying > shutdown > paused > running > blocked', async (t) => {
  const cases: [string, string][] = [
    ['r-----', 'running'],
    ['rb----', 'running'], // "Xen once printed rb----"
    ['-b----', 'blocked'],
    ['------', 'running'],
    ['--p---', 'paused'],
    ['-bp---', 'paused'],
    ['---s--', 'shutdown'],
    ['---s-d', 'dying'],
    ['-----d', 'dying'],
    ['----c-', 'crashed'], // xm: crashed flag
    ['---sc-', 'crashed'], // xl: shut down, reason crash
    ['---scd', 'crashed'],
    ['---sw-', 'shutdown'], // xl: watchdog
    ['---sS-', 'shutdown'], // xl: soft reset
    ['??????', 'running'],
  ];
  for (const [flags, state] of cases) t.equal(stateOf(flags), state, flags);
});

t.test('lines no format describes are ListParseError', async (t) => {
  const bad: [string, number][] = [
    ['', 1],
    ['   \n', 1],
    ['garbage', 1],
    ['Name ID Mem VCPUs State', 1], // five header words
    ['Name ID Memory VCPUs State Time(s)', 1],
    ['Name Id Mem VCPUs State Time(s)', 1],
    [`${XM_303}\nguest2 5 128 1 -b----`, 5], // too few tokens
    [`${XM_303}\nguest2 5 128 1 xb---- 2.5`, 5], // bad flag
    [`${XM_303}\nguest2 5 128 1 -b---- 2.5x`, 5], // bad time
    [`${XM_303}\nguest2 x 128 1 -b---- 2.5`, 5], // bad id
    [`${XM_303}\nguest 2 5 128 1 -b---- 2.5`, 5], // xm names have no spaces
    [`${XM_303}\n   5 128 1 -b---- 2.5`, 5], // no name
    [`${XM_41}\nname with space 128 1 ------ 0.0`, 6],
    [`${XM_41}\nbad 5 12x 1 -b---- 0.0`, 6],
    [`${XL}\n5 128 1 -b---- 0.0`, 6], // no name
    [`${XL}\nguest x 128 1 -b---- 0.0`, 6],
    [`${XL}\nguest 5 128 1 -b----`, 6],
  ];
  for (const [text, line] of bad) {
    t.throws(() => parseList(text), ListParseError, JSON.stringify(text.slice(-40)));
    try {
      parseList(text);
    } catch (e) {
      t.equal((e as ListParseError).line, line);
      t.equal((e as ListParseError).code, 'ListParse');
    }
  }
});

t.test('random input: a list or a ListParseError, nothing else', async (t) => {
  // mulberry32, seeded, so a failure can be replayed.
  let seed = 0x5eed;
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const pieces = [' ', '  ', '\t', '\n', '0', '5', '128', '2.5', 'r-----', '-b----', '---sc-', 'Name', 'ID', 'Mem', 'Mem(MiB)',
    'VCPUs', 'State', 'Time(s)', 'Domain-0', 'x', '-', '.', 's:0001/p:0002', '\u00e9', '\u0000', '__proto__', 'constructor'];
  const samples = [XM_302, XM_303, XM_41, XL];
  let lists = 0;
  let errors = 0;
  for (let i = 0; i < 5000; i++) {
    // Start from a real sample and damage it a little, or build noise.
    let s = samples[rnd(samples.length)]!;
    if (rnd(4) === 0) {
      s = s.split('\n')[0]! + '\n';
      for (let k = rnd(30); k > 0; k--) s += rnd(5) === 0 ? String.fromCharCode(rnd(0x3000)) : pieces[rnd(pieces.length)];
    } else {
      for (let k = rnd(4); k > 0; k--) {
        const at = rnd(s.length + 1);
        const cut = rnd(3);
        s = s.slice(0, at) + (rnd(2) === 0 ? pieces[rnd(pieces.length)] : String.fromCharCode(rnd(128))) + s.slice(at + cut);
      }
    }
    try {
      const l = parseList(s);
      lists++;
      for (const d of l) if (typeof d.name !== 'string' || d.name === '') throw new Error(`bad row from ${JSON.stringify(s)}`);
    } catch (e) {
      if (!(e instanceof ListParseError)) throw e;
      errors++;
    }
  }
  t.ok(lists > 0, `${lists} inputs parsed`);
  t.ok(errors > 0, `${errors} inputs refused`);
});

t.test('info', async (t) => {
  t.same(parseInfo('host                   : dom0\nxen_caps               : xen-3.0-x86_64 xen-3.0-x86_32p\n\nhw_caps : a:b:c\n'), {
    host: 'dom0',
    xen_caps: 'xen-3.0-x86_64 xen-3.0-x86_32p',
    hw_caps: 'a:b:c',
  });
  t.throws(() => parseInfo(''), ListParseError);
  t.throws(() => parseInfo('no colon here'), ListParseError);
  t.throws(() => parseInfo('Bad Key : x'), ListParseError);
});

t.test('domid', async (t) => {
  t.equal(parseDomid('5\n'), 5);
  t.throws(() => parseDomid('five'), ListParseError);
  t.throws(() => parseDomid(''), ListParseError);
});
