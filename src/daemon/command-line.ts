// domud's command line, apart from the process (main.ts), so that a test can
// run it as the program does and read what it prints.
import { parseArgs } from 'node:util';
import { ConfigError, type LogLevel, loadConfig } from './config.js';
import { serve } from './daemon.js';
import { packageVersion as version } from './package.js';

const USAGE = `Usage: domud [--config FILE] [--bus system|session|ADDRESS] [--log-level LEVEL]

The domU manager for a Xen dom0: publishes org.domud.Domud1 on D-Bus.

  --config FILE      configuration (default: $DOMUD_CONFIG, else /etc/domud/domud.conf)
  --bus BUS          system (default; $DBUS_SYSTEM_BUS_ADDRESS if set), session, or a D-Bus address
  --log-level LEVEL  fatal, error, warn, info, debug, trace or silent (default: LogLevel= of the configuration)
  --version          print the version and exit
  --help             print this help and exit
`;

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** What domud prints to and reads from: the process's own, or a test's. */
export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

/** domud's command line: an exit status for usage and configuration errors, else the service's. */
export async function runDomud(argv: readonly string[], io: Io): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        bus: { type: 'string', default: 'system' },
        'log-level': { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    io.stderr(`domud: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (args.version) {
    io.stdout(`domud ${version()}\n`);
    return 0;
  }
  const level = args['log-level'];
  if (level !== undefined && !LEVELS.includes(level as LogLevel)) {
    io.stderr(`domud: --log-level must be one of ${LEVELS.join(', ')}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(args.config, io.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr(`domud: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  return serve(config, args.bus!, level as LogLevel | undefined);
}
