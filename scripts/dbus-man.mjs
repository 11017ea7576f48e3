// Makes the man page org.domud.Domud1(5), dist/man/org.domud.Domud1.5, from
// the interface XML the daemon serves (data/dbus), as systemd documents
// org.freedesktop.machine1(5): each object with its interfaces written out
// as busctl shows them, then every method, property and signal with its
// org.gtk.GDBus.DocString annotation. The XML is the one source, so the page
// cannot describe an API other than the one on the bus.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseStringPromise } from 'xml2js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const DOC = 'org.gtk.GDBus.DocString';
const EMITS = 'org.freedesktop.DBus.Property.EmitsChangedSignal';

/** The interfaces in the order the page describes them, with the object each is on. */
const OBJECTS = [
  { iface: 'org.domud.Domud1.Manager', path: '/org/domud/Domud1', title: 'THE MANAGER OBJECT' },
  { iface: 'org.domud.Domud1.Domain', path: '/org/domud/Domud1/domain/<label>', title: 'DOMAIN OBJECTS' },
  { iface: 'org.domud.Domud1.Image', path: '/org/domud/Domud1/image/<label>', title: 'IMAGE OBJECTS' },
  { iface: 'org.domud.Domud1.Job', path: '/org/domud/Domud1/job/<number>', title: 'JOB OBJECTS' },
];

/** Text as roff shows it: backslashes escaped, no line taken for a request. */
const roff = (text) =>
  text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((l) => (/^[.']/.test(l) ? `\\&${l}` : l))
    .join('\n');

const annotations = (el) => el.annotation ?? [];
const docOf = (el, what) => {
  const d = annotations(el).find((a) => a.$.name === DOC)?.$.value;
  if (!d) throw new Error(`${what} has no ${DOC} annotation`);
  return d;
};

function synopsis(i) {
  const lines = [`  interface ${i.$.name} {`];
  if (i.method) {
    lines.push('    methods:');
    for (const m of i.method) {
      const args = (m.arg ?? []).map((a) => `${(a.$.direction ?? 'in').padEnd(3)} ${a.$.type} ${a.$.name}`);
      const head = `      ${m.$.name}(`;
      lines.push(head + args.join(`,\n${' '.repeat(head.length)}`) + ');');
    }
  }
  if (i.signal) {
    lines.push('    signals:');
    for (const s of i.signal) lines.push(`      ${s.$.name}(${(s.arg ?? []).map((a) => `${a.$.type} ${a.$.name}`).join(', ')});`);
  }
  if (i.property) {
    lines.push('    properties:');
    for (const p of i.property) {
      const emits = annotations(p).find((a) => a.$.name === EMITS)?.$.value;
      if (emits) lines.push(`      @${EMITS}("${emits}")`);
      lines.push(`      readonly ${p.$.type} ${p.$.name};`);
    }
  }
  lines.push('  };');
  return lines.join('\n');
}

function members(i) {
  const out = [];
  const section = (title, list, sig) => {
    if (!list) return;
    out.push(`.SS "${title}"`);
    for (const m of list) out.push('.TP', `.B ${m.$.name}${sig(m)}`, roff(docOf(m, `${i.$.name}.${m.$.name}`)));
  };
  section('Methods', i.method, () => '()');
  section('Signals', i.signal, () => '');
  section('Properties', i.property, (p) => ` \\fR(${p.$.type})`);
  return out.join('\n');
}

const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const parts = [
  `.TH ORG.DOMUD.DOMUD1 5 "" "domud ${version}" "org.domud.Domud1"`,
  '.SH NAME',
  'org.domud.Domud1 \\- the D\\-Bus interface of domud',
  '.SH INTRODUCTION',
  '.BR domud (8)',
  'manages the guests (domUs) of a Xen dom0 and publishes this interface on the system bus under the name',
  '.BR org.domud.Domud1 .',
  'This page is made from the introspection XML that the daemon serves, installed in',
  '.IR /usr/share/dbus\\-1/interfaces/ ;',
  '.B busctl introspect \\-\\-xml org.domud.Domud1 /org/domud/Domud1',
  'shows the same text with each member\'s',
  `.B ${DOC}`,
  'annotation.',
  '.PP',
  'Everyone may read. Changing anything needs uid 0, membership of the configured',
  '.BR Group= ,',
  'or polkit\'s',
  '.BR org.domud.domud1.manage\\-domains .',
  'Errors are',
  '.BR org.domud.Domud1.Error.* ,',
  '.B org.freedesktop.DBus.Error.AccessDenied',
  'and',
  '.BR org.freedesktop.DBus.Error.InteractiveAuthorizationRequired .',
];
for (const o of OBJECTS) {
  const text = readFileSync(join(root, 'data', 'dbus', `${o.iface}.xml`), 'utf8');
  const { node } = await parseStringPromise(text);
  const i = node.interface.find((x) => x.$.name === o.iface);
  if (!i) throw new Error(`${o.iface}.xml has no interface ${o.iface}`);
  parts.push(
    `.SH "${o.title}"`,
    roff(docOf(i, o.iface)),
    '.PP',
    'Besides the standard interfaces (Peer, Introspectable, Properties' + (o.iface.endsWith('.Manager') ? ', ObjectManager' : '') + '):',
    '.PP',
    '.nf',
    '.RS 4',
    roff(`node ${o.path} {\n${synopsis(i)}\n};`),
    '.RE',
    '.fi',
    members(i),
  );
}
parts.push('.SH "SEE ALSO"', '.BR domud (8),', '.BR domuctl (1),', '.BR busctl (1),', '.BR org.freedesktop.machine1 (5)');

// Run on its own, a path may be given (the tests write theirs elsewhere);
// imported by bundle.mjs, the page goes to dist/man.
const out = (import.meta.url === `file://${process.argv[1]}` && process.argv[2]) || join(root, 'dist', 'man', 'org.domud.Domud1.5');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${parts.join('\n')}\n`);
