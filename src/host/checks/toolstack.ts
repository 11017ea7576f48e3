// Which toolstack, and does it answer? The daemon probes it (`xl info` /
// `xm info`) and passes the result; without a probe we can only look for the
// programs under the root.

import type { Root } from '../fsroot.js';
import type { Check, ToolstackProbe } from '../types.js';
import { error, ok, warning } from './verdict.js';

const INSTALL = 'install the Xen tools (on Debian 12: apt install xen-utils-4.17, or the xen-system-amd64 metapackage)';

const CANDIDATES = ['usr/sbin/xl', 'usr/bin/xl', 'usr/sbin/xm', 'usr/bin/xm'];

function daemonHint(kind: 'xm' | 'xl'): string {
  return kind === 'xl' ? 'start the Xen services (systemctl start xencommons)' : 'start xend (/etc/init.d/xend start)';
}

export async function checkToolstack(root: Root, probe: ToolstackProbe | null | undefined): Promise<Check> {
  if (probe === null) return error('toolstack', `no Xen toolstack (xl or xm) found: ${INSTALL}`);
  if (probe !== undefined) {
    if (probe.answering) return ok('toolstack', `${probe.kind} answers (\`${probe.kind} info\`)`);
    const why = probe.error ? `: ${probe.error}` : '';
    return error('toolstack', `${probe.kind} is installed but \`${probe.kind} info\` failed${why}; boot into Xen as dom0 and ${daemonHint(probe.kind)}`);
  }
  for (const rel of CANDIDATES) {
    if (await root.isExecutable(rel)) {
      const kind = rel.endsWith('xl') ? 'xl' : 'xm';
      return warning('toolstack', `${kind} found at /${rel} but not asked whether it answers: run \`${kind} info\` as root to check it`);
    }
  }
  return error('toolstack', `no Xen toolstack (xl or xm) found in /usr/sbin or /usr/bin: ${INSTALL}`);
}
