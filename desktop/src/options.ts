// Which bus the window talks to: the system bus, where domud lives in
// production, unless `--bus` or $DOMUD_BUS_ADDRESS names another one (the
// demo daemon and the tests run domud on a private bus). The same words as
// the daemon's own --bus: `system`, `session`, or a D-Bus address.

export type BusChoice = { readonly kind: 'system' } | { readonly kind: 'session' } | { readonly kind: 'address'; readonly address: string };

export interface Options {
  readonly bus: BusChoice;
}

export class UsageError extends Error {}

export const USAGE = 'usage: domud-desktop [--bus system|session|ADDRESS]\n\nThe bus defaults to $DOMUD_BUS_ADDRESS, else the system bus.';

function busChoice(word: string): BusChoice {
  if (word === 'system') return { kind: 'system' };
  if (word === 'session') return { kind: 'session' };
  // A D-Bus address is transport:key=value[,...]; anything else is a typo.
  if (!/^[a-z][a-z0-9-]*:/.test(word)) throw new UsageError(`--bus: not "system", "session" or a D-Bus address: ${word}`);
  return { kind: 'address', address: word };
}

export function parseOptions(argv: readonly string[], env: (name: string) => string | null): Options | 'help' {
  let bus: BusChoice | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return 'help';
    if (a === '--bus') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError('--bus needs a value');
      bus = busChoice(v);
    } else if (a.startsWith('--bus=')) {
      bus = busChoice(a.slice('--bus='.length));
    } else {
      throw new UsageError(`unknown argument: ${a}`);
    }
  }
  const fromEnv = env('DOMUD_BUS_ADDRESS');
  return { bus: bus ?? (fromEnv ? busChoice(fromEnv) : { kind: 'system' }) };
}
