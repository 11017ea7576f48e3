// monitor: domud's signals as they come, one line each, until Ctrl-C.
import { plain, type Signal } from '../bus.js';
import { MANAGER_PATH } from '../domud.js';
import { Exit, type ExitCode } from '../exit.js';
import { json } from '../output.js';
import type { Context } from './domains.js';

/**
 * dbus-next tells of a lost connection only when it next writes: a ping to
 * the bus this often lets monitor notice that the bus went away.
 */
const PING_MS = 2_000;

const RULES = [
  `type='signal',sender='org.domud.Domud1',interface='org.domud.Domud1.Manager',path='${MANAGER_PATH}'`,
  `type='signal',sender='org.domud.Domud1',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path_namespace='${MANAGER_PATH}'`,
];

/** The signal as a flat record with stable keys (the contract's argument names). */
export function describe(s: Signal): Record<string, unknown> {
  const [a, b, c] = s.body as [unknown, unknown, unknown];
  switch (s.member) {
    case 'DomainNew':
    case 'DomainRemoved':
      return { signal: s.member, name: a, domain: b };
    case 'LeaseAcquired':
    case 'LeaseReleased':
      return { signal: s.member, address: a, name: b };
    case 'PropertiesChanged': {
      const changed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(b as Record<string, { value: unknown }>)) changed[k] = plain(v.value);
      return { signal: s.member, path: s.path, interface: a, changed, invalidated: c };
    }
    default: // a signal newer than this client: shown as it came
      return { signal: s.member, path: s.path, args: s.body.map(plain) };
  }
}

export function formatLine(d: Record<string, unknown>): string {
  if (d.signal === 'PropertiesChanged') {
    const changed = Object.entries(d.changed as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`);
    const invalidated = (d.invalidated as string[]).map((k) => `${k}=?`);
    return `PropertiesChanged ${String(d.path)} ${[...changed, ...invalidated].join(' ')}`;
  }
  const { signal, ...rest } = d;
  return `${String(signal)} ${Object.values(rest).map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(' ')}`;
}

export async function monitor(c: Context): Promise<ExitCode> {
  const bus = c.domud.bus;
  const ended = new Promise<ExitCode>((resolve) => {
    bus.onSignal = (s) => {
      const d = describe(s);
      const time = new Date().toISOString();
      c.write(c.json ? json({ time, ...d }) : `${time.slice(11, 23)} ${formatLine(d)}\n`);
    };
    bus.onClose = (e) => {
      process.stderr.write(`domuctl: ${e.message}\n`);
      resolve(Exit.Unreachable);
    };
    const stop = () => resolve(Exit.Ok);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  for (const rule of RULES) await bus.addMatch(rule);
  process.stderr.write('domuctl: monitoring org.domud.Domud1; Ctrl-C to stop\n');
  const ping = setInterval(() => {
    // A failure here is the connection's, and onClose reports it.
    bus.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus.Peer', member: 'Ping', timeoutMs: PING_MS * 5 }).catch(() => undefined);
  }, PING_MS);
  try {
    return await ended;
  } finally {
    clearInterval(ping);
  }
}
