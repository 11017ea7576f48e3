// A private dbus-daemon configured like Debian's system bus (method calls
// denied unless a service's policy file allows them, activation from service
// directories), for tests of bus policy and activation files with real
// clients. The daemon runs with an empty environment but PATH, so that what it
// activates sees only what the bus gives it (DBUS_STARTER_*).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BusConfigOptions, systemBusConfig } from '../../src/dev/bus-config.js';

export type BusOptions = Omit<BusConfigOptions, 'socket'>;

export interface Bus {
  /** The address to put in DBUS_SYSTEM_BUS_ADDRESS. */
  readonly address: string;
  /** The generated bus configuration file. */
  readonly configFile: string;
  /** Stops the bus and removes its directory. */
  stop(): Promise<void>;
}

/** Starts the bus; resolves once it listens, rejects with its stderr if it cannot start. */
export async function startBus(opts: BusOptions = {}): Promise<Bus> {
  const dir = mkdtempSync(join(tmpdir(), 'domud-bus-'));
  chmodSync(dir, 0o755); // other users (the tests' "nobody") connect too
  const configFile = join(dir, 'bus.conf');
  writeFileSync(configFile, systemBusConfig({ socket: join(dir, 'socket'), ...opts }));
  // env -i, not just spawn's env: tap adds its loaders to children's
  // environment, and the bus would pass them on to what it activates.
  const child = spawn('env', ['-i', `PATH=${process.env.PATH}`, 'dbus-daemon', `--config-file=${configFile}`, '--nofork', '--nopidfile', '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    void exited.then(() => {
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`dbus-daemon did not start: ${err.trim()}`));
    });
  });
  return {
    address,
    configFile,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
