#!/usr/bin/env node
// domud: the daemon's entry. Reads the command line and the configuration,
// then runs the service (daemon.ts) until SIGTERM.
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

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
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
    process.stderr.write(`domud: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`domud ${version()}\n`);
    return 0;
  }
  const level = args['log-level'];
  if (level !== undefined && !LEVELS.includes(level as LogLevel)) {
    process.stderr.write(`domud: --log-level must be one of ${LEVELS.join(', ')}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(args.config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`domud: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  return serve(config, args.bus!, level as LogLevel | undefined);
}

main(process.argv.slice(2)).then(
  (code) => setImmediate(() => process.exit(code)),
  (err) => {
    process.stderr.write(`domud: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
