// The default configuration shipped as /etc/domud/domud.conf: every key of
// the contract (domud-api.md, "Running the daemon") present, commented out,
// with its default and a comment saying what it is, so that the file as
// shipped means "all defaults" and uncommenting a line changes one thing.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEMD_DIR } from './install.js';

const CONTRACT: Record<string, Record<string, string>> = {
  Network: { Range: '172.20.216.0/24' },
  Toolstack: { Command: 'auto', Timeout: '60' },
  Domains: { Kernel: '/boot/vmlinuz-xen', Ramdisk: '', Memory: '128', VCpus: '1' },
  Daemon: { StateDirectory: '/var/lib/domud', Group: '', Polkit: 'yes', ReconcileSeconds: '5', LogLevel: 'info' },
};
/** Keys beyond the contract's: CreateImage's tools (contract 1.1 names no key for them). */
const ADDITIONS: Record<string, Record<string, string>> = {
  Images: { Debootstrap: 'debootstrap', CacheDirectory: '' },
};

interface Line {
  readonly n: number;
  readonly text: string;
}

const lines: Line[] = readFileSync(join(SYSTEMD_DIR, 'domud.conf'), 'utf8')
  .split('\n')
  .map((text, i) => ({ n: i + 1, text }));

t.test('no setting is active: the file as shipped means all defaults', async (t) => {
  const active = lines.filter((l) => l.text.trim() !== '' && !/^\s*[#;]/.test(l.text) && !/^\[[A-Za-z]+\]$/.test(l.text));
  t.same(active, []);
});

t.test('every key, once, in its section, with its default and a comment above', async (t) => {
  const found: Record<string, Record<string, string>> = {};
  let section = '';
  lines.forEach((l, i) => {
    const header = /^\[([A-Za-z]+)\]$/.exec(l.text);
    if (header) {
      section = header[1]!;
      t.notOk(found[section], `[${section}] appears once`);
      found[section] = {};
      return;
    }
    const kv = /^#([A-Z][A-Za-z]*)=(.*)$/.exec(l.text);
    if (!kv) return;
    const [, key, value] = kv;
    t.notOk(key! in found[section]!, `${key} appears once in [${section}]`);
    found[section]![key!] = value!;
    const above = lines[i - 1]!.text;
    t.match(above, /^# \S/, `line ${l.n}: ${key} has a comment above it`);
  });
  t.same(found, { ...CONTRACT, ...ADDITIONS });
});

t.test('no comment at the end of a commented setting (the parser has none)', async (t) => {
  for (const l of lines.filter((l) => /^#[A-Z][A-Za-z]*=/.test(l.text))) t.notMatch(l.text, /\s[#;]/, `line ${l.n}`);
});
