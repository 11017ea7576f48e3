// leases, status, doctor.
import type { Check } from '../domud.js';
import { Exit, type ExitCode } from '../exit.js';
import { fields, isoTime, json, listing, plural, table } from '../output.js';
import type { Context } from './domains.js';

export async function leases(c: Context): Promise<void> {
  const columns = [{ title: 'ADDRESS' }, { title: 'NAME' }, { title: 'MAC' }, { title: 'ACQUIRED' }];
  c.write(listing(await c.domud.listLeases(), c.json, columns, (r) => [r.address, r.name, r.mac, isoTime(r.acquiredAt)], ['lease', 'leases']));
}

export async function status(c: Context): Promise<void> {
  const m = await c.domud.manager();
  if (c.json) return c.write(json(m));
  c.write(
    fields([
      ['Network', m.network],
      ['Dom0 address', m.dom0Address],
      ['Toolstack', m.toolstack],
      ['Forwarding', m.forwardingEnabled ? 'on (domud never turns it on; guests could reach beyond dom0)' : 'off'],
      ['Leases', `${m.leasesInUse} of ${m.leasesTotal} in use`],
      ['Version', m.version],
    ]),
  );
}

/** doctor fails when any check is an error; warnings do not fail it. */
export function doctorExit(checks: readonly Check[]): ExitCode {
  return checks.some((k) => k.status === 'error') ? Exit.Failure : Exit.Ok;
}

export async function doctor(c: Context): Promise<ExitCode> {
  const checks = await c.domud.checkHost();
  const errors = checks.filter((k) => k.status === 'error').length;
  const warnings = checks.filter((k) => k.status === 'warning').length;
  if (c.json) c.write(json(checks));
  else
    c.write(
      table(
        [{ title: 'CHECK' }, { title: 'STATUS' }, { title: 'MESSAGE' }],
        checks.map((k) => [k.id, k.status, k.message]),
      ) + `\n${plural(checks.length, 'check', 'checks')}: ${plural(errors, 'error', 'errors')}, ${plural(warnings, 'warning', 'warnings')}.\n`,
    );
  return doctorExit(checks);
}
