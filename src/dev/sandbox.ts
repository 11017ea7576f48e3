// A complete domud on one machine without Xen: a private dbus-daemon with a
// system-bus-like policy (default deny, plus the project's own policy file),
// the toolstack simulator, and (as root) a network namespace of its own in
// which the simulator makes real vifs and domud installs real routes.
// `npm start` runs one for a newcomer; the integration tests run many.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { systemBusConfig } from './bus-config.js';

const run = promisify(execFile);

export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), ...(import.meta.url.includes('/dist/') ? ['..', '..', '..'] : ['..', '..']));

export interface SandboxOptions {
  /** Which toolstack the simulator plays. */
  readonly flavour?: 'xm' | 'xl';
  /** Run in a network namespace of its own (needs root); default: when root. */
  readonly netns?: boolean;
  /** Extra configuration: section -> key -> value, on top of the sandbox's own. */
  readonly config?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** More bus policy files to include (e.g. a test polkit authority's). */
  readonly policies?: readonly string[];
  /** How to run node for the daemon (tests pass their loader and coverage hooks). */
  readonly nodeArgs?: readonly string[];
  /** The daemon's entry point; default: the built one. */
  readonly entry?: string;
}

export interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class Sandbox {
  readonly dir: string;
  readonly address: string;
  readonly netns: string | null;
  readonly configPath: string;
  readonly toolPath: string;
  readonly stateDir: string;
  readonly simState: string;
  readonly logPath: string;
  /** The stand-in for debootstrap that CreateImage runs ([Images] Debootstrap=). */
  readonly debootstrapPath: string;
  private readonly debootstrapEnvPath: string;
  private bus: ChildProcess | null = null;
  daemon: ChildProcess | null = null;

  private constructor(private readonly o: SandboxOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'domud-'));
    // Unprivileged test callers must reach the bus socket inside.
    chmodSync(this.dir, 0o755);
    this.address = `unix:path=${join(this.dir, 'bus')}`;
    const wantNetns = o.netns ?? process.getuid?.() === 0;
    this.netns = wantNetns ? `domud-${process.pid}-${Math.random().toString(36).slice(2, 8)}` : null;
    this.configPath = join(this.dir, 'domud.conf');
    this.toolPath = join(this.dir, 'bin', o.flavour ?? 'xl');
    this.stateDir = join(this.dir, 'state');
    this.simState = join(this.dir, 'sim');
    this.logPath = join(this.dir, 'domud.log');
    this.debootstrapPath = join(this.dir, 'bin', 'debootstrap');
    this.debootstrapEnvPath = join(this.dir, 'debootstrap.env');
  }

  static async create(o: SandboxOptions = {}): Promise<Sandbox> {
    const s = new Sandbox(o);
    try {
      await s.setUp();
    } catch (e) {
      await s.destroy();
      throw e;
    }
    return s;
  }

  private async setUp(): Promise<void> {
    mkdirSync(join(this.dir, 'bin'));
    mkdirSync(this.simState);
    writeFileSync(join(this.dir, 'vmlinuz-guest'), 'not a kernel: the simulator only checks that it exists\n');
    // The simulator is reached through a tiny wrapper named like the tool it
    // plays, so domud's configuration names a plain path (Command=), exactly
    // as it would name /usr/sbin/xl; only "$@" reaches the simulator.
    writeFileSync(
      this.toolPath,
      `#!/bin/sh\nXMSIM_STATE='${this.simState}' XMSIM_FLAVOR='${this.o.flavour ?? 'xl'}' XMSIM_VIFS='${this.netns ? 1 : 0}'\n` +
        `export XMSIM_STATE XMSIM_FLAVOR XMSIM_VIFS\nexec '${join(PACKAGE_ROOT, 'bin', 'xm-sim')}' "$@"\n`,
    );
    chmodSync(this.toolPath, 0o755);
    // debootstrap's stand-in (sim/debootstrap-sim), through a wrapper that
    // reads its fault controls from a file the test writes
    // (debootstrapEnv()): src/image runs tools with a clean environment.
    this.debootstrapEnv({});
    writeFileSync(
      this.debootstrapPath,
      `#!/bin/sh
set -a
. '${this.debootstrapEnvPath}'
set +a
exec '${join(PACKAGE_ROOT, 'sim', 'debootstrap-sim')}' "$@"
`,
    );
    chmodSync(this.debootstrapPath, 0o755);
    const sections: Record<string, Record<string, string>> = {
      Toolstack: { Command: this.toolPath, Timeout: '10' },
      Images: { Debootstrap: this.debootstrapPath },
      Domains: { Kernel: join(this.dir, 'vmlinuz-guest'), Memory: '64' },
      Daemon: { StateDirectory: this.stateDir, Polkit: 'no', ReconcileSeconds: '1', LogLevel: 'debug' },
    };
    for (const [sec, keys] of Object.entries(this.o.config ?? {})) sections[sec] = { ...sections[sec], ...keys };
    writeFileSync(
      this.configPath,
      Object.entries(sections)
        .map(([sec, keys]) => `[${sec}]\n${Object.entries(keys).map(([k, v]) => `${k}=${v}\n`).join('')}`)
        .join('\n'),
    );
    writeFileSync(
      join(this.dir, 'bus.conf'),
      systemBusConfig({
        socket: join(this.dir, 'bus'),
        policyFiles: [join(PACKAGE_ROOT, 'systemd', 'org.domud.Domud1.conf'), ...(this.o.policies ?? [])],
      }),
    );
    if (this.netns) {
      await run('ip', ['netns', 'add', this.netns]);
      await run('ip', ['-n', this.netns, 'link', 'set', 'lo', 'up']);
    }
    const bus = spawn('dbus-daemon', ['--nofork', '--nopidfile', `--config-file=${join(this.dir, 'bus.conf')}`], { stdio: 'ignore' });
    this.bus = bus;
    await this.waitFor(() => {
      if (bus.exitCode !== null) throw new Error(`dbus-daemon exited with status ${bus.exitCode}; its configuration: ${join(this.dir, 'bus.conf')}`);
      return existsSync(join(this.dir, 'bus'));
    }, 'dbus-daemon to listen');
  }

  /**
   * The debootstrap stand-in's controls for the builds that start from now
   * (docs/images.md lists them: DEBOOTSTRAP_SIM_FAIL=configure, …_HANG,
   * …_DELAY_MS, …_FILL); {} for a plain build.
   */
  debootstrapEnv(vars: Readonly<Record<string, string>>): void {
    const lines = Object.entries(vars).map(([k, v]) => {
      if (!/^DEBOOTSTRAP_SIM_[A-Z_]+$/.test(k) || !/^[A-Za-z0-9_.,-]*$/.test(v)) throw new Error(`not a debootstrap-sim control: ${k}=${v}`);
      return `${k}='${v}'\n`;
    });
    writeFileSync(this.debootstrapEnvPath, lines.join(''));
  }

  /** Starts domud and resolves once it owns org.domud.Domud1. */
  async startDaemon(extraArgs: readonly string[] = []): Promise<ChildProcess> {
    const entry = this.o.entry ?? join(PACKAGE_ROOT, 'dist', 'domud.cjs');
    const argv = [process.execPath, ...(this.o.nodeArgs ?? []), entry, '--config', this.configPath, '--bus', this.address, ...extraArgs];
    const out = openSync(this.logPath, 'a');
    const child = this.netns
      ? spawn('ip', ['netns', 'exec', this.netns, ...argv], { stdio: ['ignore', out, out] })
      : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', out, out] });
    this.daemon = child;
    let exited: number | null = null;
    child.on('exit', (code, sig) => (exited = code ?? (sig ? 128 : 1)));
    await this.waitFor(
      async () => {
        if (exited !== null) throw new Error(`domud exited with status ${exited} before it was ready; log: ${this.logPath}`);
        return this.nameOwned();
      },
      'domud to own org.domud.Domud1',
      // Run from source under tap's TypeScript loader, on two cores that
      // other suites keep busy, domud was seen to take over 30 s to start.
      120_000,
    );
    return child;
  }

  /** Sends a signal to the daemon and resolves with its exit status. */
  async stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const d = this.daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return d?.exitCode ?? null;
    const done = new Promise<number | null>((r) => d.once('exit', (code) => r(code)));
    d.kill(signal);
    const code = await done;
    this.daemon = null;
    return code;
  }

  async nameOwned(): Promise<boolean> {
    const r = await this.busctl(['call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', 'org.domud.Domud1']);
    return r.stdout.trim() === 'b true';
  }

  busctl(args: readonly string[], opts: { uid?: number } = {}): Promise<Result> {
    return this.exec('busctl', [`--address=${this.address}`, ...args], opts);
  }

  /** Runs the simulator (e.g. its fault controls) with the sandbox's state. */
  sim(args: readonly string[]): Promise<Result> {
    return this.netns ? this.exec('ip', ['netns', 'exec', this.netns, this.toolPath, ...args]) : this.exec(this.toolPath, args);
  }

  /** `ip` inside the sandbox's namespace. */
  ip(args: readonly string[]): Promise<Result> {
    return this.exec('ip', this.netns ? ['-n', this.netns, ...args] : [...args]);
  }

  exec(cmd: string, args: readonly string[], opts: { uid?: number } = {}): Promise<Result> {
    const argv = opts.uid === undefined ? [cmd, ...args] : ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', cmd, ...args];
    return new Promise((resolve) => {
      execFile(argv[0]!, argv.slice(1), { timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  private async waitFor(ok: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      if (await ok()) return;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Stops everything the sandbox started and removes what it made. */
  async destroy(): Promise<void> {
    await stopChild(this.daemon, 'SIGKILL');
    await stopChild(this.bus, 'SIGTERM');
    if (this.netns) await run('ip', ['netns', 'del', this.netns]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Signals a child and waits for it to exit, unless it has exited already:
 * by a status or by a signal. (Waiting for the exit of a bus that a signal
 * to the whole process group had killed, as `timeout npm start` sends, hung
 * the demo's clean-up for good.)
 */
async function stopChild(c: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill(signal);
  await gone;
}
