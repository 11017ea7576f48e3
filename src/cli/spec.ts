// What each command takes and says about itself: the parser and `--help`
// read the same table, so they cannot disagree.
import type { ParseArgsConfig } from 'node:util';
import { EXIT_HELP } from './exit.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  readonly name: string;
  /** Positional arguments, e.g. ['NAME']. */
  readonly args: readonly string[];
  readonly summary: string;
  readonly options: Options;
  /** One line per option, already aligned. */
  readonly optionHelp: readonly string[];
  readonly more?: string;
}

export const GLOBAL_OPTIONS: Options = {
  bus: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = [
  '  --bus BUS        system (default; $DBUS_SYSTEM_BUS_ADDRESS if set), session, or a D-Bus address',
  '  --json           machine-readable output (one JSON document; JSON lines for monitor)',
  '  -h, --help       this help',
];

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'list', args: [], summary: 'List the domains domud knows', options: {}, optionHelp: [] },
  { name: 'show', args: ['NAME'], summary: 'Show one domain and its properties', options: {}, optionHelp: [] },
  {
    name: 'create',
    args: ['NAME'],
    summary: 'Lease an address, write the guest config and start a new domain',
    options: {
      memory: { type: 'string' },
      vcpus: { type: 'string' },
      kernel: { type: 'string' },
      ramdisk: { type: 'string' },
      extra: { type: 'string' },
      root: { type: 'string' },
      disk: { type: 'string', multiple: true },
      address: { type: 'string' },
      mac: { type: 'string' },
      image: { type: 'string' },
      'disk-size': { type: 'string' },
      'ssh-key': { type: 'string' },
    },
    optionHelp: [
      '  --memory MIB     memory in MiB (default: the daemon\'s Memory=)',
      '  --vcpus N        virtual CPUs (default: the daemon\'s VCpus=)',
      '  --kernel PATH    absolute path of the guest kernel',
      '  --ramdisk PATH   absolute path of the initrd',
      '  --extra STR      extra kernel command line',
      '  --root STR       root device, e.g. "/dev/xvda1 ro"',
      '  --disk SPEC      xm disk spec, e.g. phy:/dev/vg0/web,xvda1,w (repeatable)',
      '  --address A      a specific free address in the range',
      '  --mac M          unicast MAC address (default: random in 00:16:3e)',
      '  --image IMAGE    boot a copy of this image (see "domuctl image list") with pygrub',
      '  --disk-size SIZE the copy\'s size, e.g. 8G (default: the image\'s); with --image',
      '  --ssh-key FILE   an OpenSSH public key file (one key) for root; with --image',
    ],
    more: 'SIZE is bytes, or a number with K, M, G or T (powers of 1024).',
  },
  { name: 'start', args: ['NAME'], summary: 'Start a stopped domain again, with the same address', options: {}, optionHelp: [] },
  {
    name: 'shutdown',
    args: ['NAME'],
    summary: 'Ask a domain to shut down (its lease is kept)',
    options: { wait: { type: 'boolean' }, timeout: { type: 'string' } },
    optionHelp: ['  --wait           return only once the domain has stopped', '  --timeout SEC    give up waiting after SEC seconds (implies --wait)'],
  },
  { name: 'destroy', args: ['NAME'], summary: 'Stop a domain at once and forget it (releases its lease)', options: {}, optionHelp: [] },
  { name: 'leases', args: [], summary: 'List the leased addresses', options: {}, optionHelp: [] },
  { name: 'status', args: [], summary: 'Show the daemon: range, dom0 address, toolstack, forwarding, leases, version', options: {}, optionHelp: [] },
  {
    name: 'monitor',
    args: [],
    summary: 'Print domud\'s signals as they come, until Ctrl-C',
    options: {},
    optionHelp: [],
    more: 'Signals: DomainNew, DomainRemoved, LeaseAcquired, LeaseReleased and PropertiesChanged of the\nmanager and of every domain; one line each (JSON lines with --json).',
  },
  { name: 'image list', args: [], summary: 'List the images guests can be made from', options: {}, optionHelp: [] },
  { name: 'image show', args: ['NAME'], summary: 'Show one image', options: {}, optionHelp: [] },
  {
    name: 'image create',
    args: ['NAME'],
    summary: 'Build an image with debootstrap (minutes; Ctrl-C cancels the build)',
    options: {
      suite: { type: 'string' },
      mirror: { type: 'string' },
      size: { type: 'string' },
      package: { type: 'string', multiple: true },
      'no-wait': { type: 'boolean' },
    },
    optionHelp: [
      '  --suite SUITE    a Debian or Ubuntu release, e.g. trixie (default: dom0\'s own)',
      '  --mirror URL     the archive to install from (default: dom0\'s apt source)',
      '  --size SIZE      the image\'s size, e.g. 4G (default: 4 GiB)',
      '  --package PKG    an extra package to install (repeatable)',
      '  --no-wait        print the build\'s job and return at once',
    ],
    more: 'SIZE is bytes, or a number with K, M, G or T (powers of 1024). On a terminal a bar\nshows the build\'s progress.',
  },
  { name: 'image remove', args: ['NAME'], summary: 'Remove an image (guests made from it keep their copies)', options: {}, optionHelp: [] },
  {
    name: 'doctor',
    args: [],
    summary: 'Check that this host is ready to be a domud dom0',
    options: {},
    optionHelp: [],
    more: 'Prints the daemon\'s host checks (CheckHost); exits 1 when any check is an error.',
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.args.join(' ')}`.length));
  return `Usage: domuctl [--bus BUS] [--json] COMMAND [ARGS...]

Talk to domud, the domU manager of this Xen dom0, over D-Bus (org.domud.Domud1).

Commands:
${COMMANDS.map((c) => `  ${`${c.name} ${c.args.join(' ')}`.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
${GLOBAL_HELP.join('\n')}

"domuctl COMMAND --help" shows a command's options.

${EXIT_HELP}
`;
}

export function commandHelp(c: CommandSpec): string {
  const opts = Object.keys(c.options).length > 0 ? ' [OPTIONS]' : '';
  return `Usage: domuctl [--bus BUS] [--json] ${c.name}${opts}${c.args.map((a) => ` ${a}`).join('')}

${c.summary}.
${c.more ? `\n${c.more}\n` : ''}
Options:
${[...c.optionHelp, ...GLOBAL_HELP].join('\n')}

${EXIT_HELP}
`;
}
