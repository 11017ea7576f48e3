// domud never turns forwarding on. Beyond the runtime checks (every netns
// test reads ip_forward and each interface's forwarding after it ran), this
// reads src/net's source: the one place that writes under /proc/sys writes a
// vif's proxy_arp, and ip_forward is only ever read.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { IP_FORWARD, proxyArpPath } from '../../src/net/sysctl.js';

const dir = fileURLToPath(new URL('../../src/net/', import.meta.url));
// Source without comments, so the checks look at code only.
const sources = new Map(
  readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => [f, readFileSync(dir + f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')]),
);

t.test('the only writers are in sysctl.ts, and they write proxy_arp', async (t) => {
  const writers = /\b(?:writeFile|writeFileSync|appendFile|appendFileSync|createWriteStream|openSync|open)\s*\(|'(?:tee|dd|sysctl|sh|bash)'/g;
  for (const [file, src] of sources) {
    const hits = src.match(writers) ?? [];
    if (file === 'sysctl.ts') t.same(hits.sort(), ["'tee'", 'writeFileSync('], 'sysctl.ts: one file write, one tee');
    else t.same(hits, [], `${file} writes nothing`);
  }
  const sysctl = sources.get('sysctl.ts')!;
  t.match(sysctl, /const path = proxyArpPath\(vif\);\s*try \{\s*writeFileSync\(path, '1\\n'\);/, 'writeFileSync target is proxyArpPath');
  t.match(sysctl, /const path = proxyArpPath\(vif\);\s*try \{\s*await run\(inside\(\['tee', path\]\), '1\\n'\);/, 'tee target is proxyArpPath');
  t.equal(proxyArpPath('vif1.0'), '/proc/sys/net/ipv4/conf/vif1.0/proxy_arp');
});

t.test('ip_forward is only read, and no forwarding knob is named', async (t) => {
  t.equal(IP_FORWARD, '/proc/sys/net/ipv4/ip_forward');
  for (const [file, src] of sources) {
    t.notMatch(src, /conf\/[^'"`]*\/forwarding|\.forwarding\s*=|mc_forwarding/, `${file}: no conf/*/forwarding`);
    const uses = src.match(/.*\b(?:IP_FORWARD|ip_forward)\b.*/g) ?? [];
    for (const line of uses) {
      t.ok(
        /export const IP_FORWARD = |readFile\(IP_FORWARD, 'utf8'\)|new SysctlError\(IP_FORWARD|\['cat', IP_FORWARD\]/.test(line),
        `${file}: read-only use: ${line.trim()}`,
      );
    }
  }
});
