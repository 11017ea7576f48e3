// A private dbus-daemon configured like Debian's system bus (method calls
// denied unless a service's policy file allows them, activation from service
// directories), for tests of bus policy and activation files with real
// clients. The daemon runs with an empty environment but PATH, so that what it
// activates sees only what the bus gives it (DBUS_STARTER_*).
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BusOptions {
  /** Policy files (like org.domud.Domud1.conf) the bus includes. */
  readonly policyFiles?: readonly string[];
  /** Directories of activation files (like org.domud.Domud1.service). */
  readonly serviceDirs?: readonly string[];
  /** How long an activated service may take to own its name (dbus-daemon's default: 25 s). */
  readonly serviceStartTimeoutMs?: number;
}

export interface Bus {
  /** The address to put in DBUS_SYSTEM_BUS_ADDRESS. */
  readonly address: string;
  /** The generated bus configuration file. */
  readonly configFile: string;
  /** Stops the bus and removes its directory. */
  stop(): Promise<void>;
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The policy part of Debian's /usr/share/dbus-1/system.conf. */
const SYSTEM_DEFAULT_POLICY = `
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
  </policy>`;

export function busConfig(socket: string, opts: BusOptions): string {
  const lines = [
    '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"',
    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
    '<busconfig>',
    '  <type>system</type>',
    `  <listen>unix:path=${xmlText(socket)}</listen>`,
    '  <auth>EXTERNAL</auth>',
    ...(opts.serviceDirs ?? []).map((d) => `  <servicedir>${xmlText(d)}</servicedir>`),
    ...(opts.serviceStartTimeoutMs === undefined ? [] : [`  <limit name="service_start_timeout">${opts.serviceStartTimeoutMs}</limit>`]),
    SYSTEM_DEFAULT_POLICY,
    ...(opts.policyFiles ?? []).map((f) => `  <include>${xmlText(f)}</include>`),
    '</busconfig>',
    '',
  ];
  return lines.join('\n');
}

/** Starts the bus; resolves once it listens, rejects with its stderr if it cannot start. */
export async function startBus(opts: BusOptions = {}): Promise<Bus> {
  const dir = mkdtempSync(join(tmpdir(), 'domud-bus-'));
  chmodSync(dir, 0o755); // other users (the tests' "nobody") connect too
  const configFile = join(dir, 'bus.conf');
  writeFileSync(configFile, busConfig(join(dir, 'socket'), opts));
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
