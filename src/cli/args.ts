// Command-line parsing with node's util.parseArgs (no load cost): the
// command is the first word that is not an option or an option's value;
// then the global options and that command's own are parsed strictly.
import { parseArgs } from 'node:util';
import { UsageError } from './exit.js';
import { COMMANDS, type CommandSpec, commandHelp, findCommand, GLOBAL_OPTIONS, mainHelp } from './spec.js';

export type Values = Readonly<Record<string, string | boolean | string[] | undefined>>;

export type Parsed =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'run'; readonly command: CommandSpec; readonly args: readonly string[]; readonly values: Values; readonly bus: string; readonly json: boolean };

/** Options of any command that take a value, so that their value is not taken for the command. */
const VALUED = new Set<string>();
for (const spec of [{ options: GLOBAL_OPTIONS }, ...COMMANDS]) {
  for (const [k, o] of Object.entries(spec.options)) if (o.type === 'string') VALUED.add(`--${k}`);
}

/** The words that are not options or their values, in order. */
function words(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return [...out, ...argv.slice(i + 1)];
    if (VALUED.has(a)) i++;
    else if (!a.startsWith('-')) out.push(a);
  }
  return out;
}

/** Commands of two words (`image list`) are named by both. */
const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!));

function commandWord(argv: readonly string[]): string | undefined {
  const [first, second] = words(argv);
  if (first === undefined || !GROUPS.has(first)) return first;
  if (second === undefined && (argv.includes('--help') || argv.includes('-h'))) return undefined;
  if (second === undefined) throw new UsageError(`${first} needs a command: ${COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name.split(' ')[1]).join(', ')}; see domuctl --help`);
  return `${first} ${second}`;
}

export function parse(argv: readonly string[]): Parsed {
  const word = commandWord(argv);
  const command = word === undefined ? undefined : findCommand(word);
  if (word !== undefined && !command) throw new UsageError(`unknown command "${word}"; see domuctl --help`);
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...GLOBAL_OPTIONS, ...command?.options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''));
  }
  const { values, positionals } = parsed;
  if (!command) {
    if (values.help) return { kind: 'help', text: mainHelp() };
    throw new UsageError('no command given; see domuctl --help');
  }
  if (values.help) return { kind: 'help', text: commandHelp(command) };
  const args = positionals.slice(command.name.split(' ').length);
  if (args.length !== command.args.length) {
    const want = command.args.length === 0 ? 'no arguments' : command.args.join(' ');
    throw new UsageError(`${command.name} takes ${want}; see domuctl ${command.name} --help`);
  }
  return { kind: 'run', command, args, values: values as Values, bus: (values.bus as string | undefined) ?? 'system', json: values.json === true };
}

/** Resolves --bus to a D-Bus address. */
export function busAddress(which: string, env: NodeJS.ProcessEnv): string {
  if (which === 'system') return env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/var/run/dbus/system_bus_socket';
  if (which === 'session') {
    if (!env.DBUS_SESSION_BUS_ADDRESS) throw new UsageError('--bus session: DBUS_SESSION_BUS_ADDRESS is not set');
    return env.DBUS_SESSION_BUS_ADDRESS;
  }
  if (!/^[a-z]+:/.test(which)) throw new UsageError(`--bus: expected system, session or a D-Bus address like unix:path=/run/x, got "${which}"`);
  return which;
}

/** A positive whole number for a 'u' argument. */
export function uint(flag: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 0xffffffff) throw new UsageError(`--${flag}: expected a whole number from 1 to 4294967295, got "${v}"`);
  return Number(v);
}

const UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** A size for a 't' argument: bytes, or a whole number with K, M, G or T (powers of 1024). */
export function bytes(flag: string, v: string): bigint {
  const m = /^(\d+)([KMGT]?)$/i.exec(v);
  const n = m ? BigInt(m[1]!) * BigInt(UNITS[m[2]!.toUpperCase()]!) : 0n;
  if (n < 1n || n >= 2n ** 64n) throw new UsageError(`--${flag}: expected a size like 4G, 512M or a number of bytes, got "${v}"`);
  return n;
}
