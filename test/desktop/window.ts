// The desktop window, run for real and driven through AT-SPI: an Xvfb screen
// of its own (src/dev/xvfb.ts), a session bus of its own for the accessibility bus
// (dbus-run-session), and atspi-driver.py, which starts the window and
// answers the test's commands. domud is on another bus, the sandbox's
// system-like one, named with --bus. With `uid`, all of it runs as that user.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { PACKAGE_ROOT, Sandbox, type SandboxOptions } from '../../src/dev/sandbox.js';
import { type Screen, startScreen } from '../../src/dev/xvfb.js';

const run = promisify(execFile);

export const MAIN = join(PACKAGE_ROOT, 'dist', 'desktop', 'main.js');
export const DAEMON = join(PACKAGE_ROOT, 'dist', 'domud.cjs');
export const DRIVER = join(PACKAGE_ROOT, 'test', 'desktop', 'atspi-driver.py');
/** Screenshots of what each test checked (gitignored). */
export const OUTPUT = join(PACKAGE_ROOT, 'test-output', 'desktop');

/**
 * The window and the daemon as built: these suites test the window, and the
 * bundled daemon starts in a second where the sources, compiled on the fly,
 * take many. Builds what is missing or older than its sources (npm test may
 * run before npm run build).
 */
export async function build(): Promise<void> {
  const newest = (dir: string): number =>
    Math.max(...readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(dir, f)).mtimeMs));
  const stale = (out: string, src: string) => !existsSync(out) || statSync(out).mtimeMs < newest(src);
  if (stale(DAEMON, join(PACKAGE_ROOT, 'src'))) await run('npm', ['run', 'build', '--silent'], { cwd: PACKAGE_ROOT });
  else if (stale(MAIN, join(PACKAGE_ROOT, 'desktop', 'src'))) {
    await run(process.execPath, [join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(PACKAGE_ROOT, 'desktop')]);
  }
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A sandboxed daemon (src/dev/sandbox.ts), the built one, torn down with the test. */
export async function sandbox(t: Teardown, o: SandboxOptions = {}, start = true): Promise<Sandbox> {
  const s = await Sandbox.create({ flavour: 'xl', ...o });
  t.teardown(() => s.destroy());
  if (start) await s.startDaemon();
  return s;
}

/** The manager, as busctl names it: destination, path, interface. */
export const MANAGER = ['org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager'] as const;

/** busctl on the sandbox's bus, as another client checks the window's work: its output, trimmed; a failure throws. */
export function busctlOn(s: Sandbox): { busctl: (...a: string[]) => Promise<string>; call: (method: string, sig: string, ...args: string[]) => Promise<string> } {
  const busctl = async (...a: string[]) => {
    const r = await s.busctl(a);
    if (r.code !== 0) throw new Error(`busctl ${a.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  return { busctl, call: (method, sig, ...args) => busctl('call', ...MANAGER, method, sig, ...args) };
}

export interface Reply {
  readonly ok: boolean;
  readonly ms?: number;
  readonly text?: string;
  readonly error?: string;
  readonly texts?: string[];
  readonly tree?: string[];
  readonly pid?: number;
  readonly values?: number[];
}

export interface WindowOptions {
  readonly bus: string;
  readonly uid?: number;
  readonly env?: Readonly<Record<string, string>>;
}

export class DesktopWindow {
  private readonly replies: Array<(r: Reply) => void> = [];
  private readonly shots: string;
  readonly ready: Promise<Reply>;
  log = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly screen: Screen,
  ) {
    this.shots = mkdtempSync(join(tmpdir(), 'domud-desktop-shots-'));
    chmodSync(this.shots, 0o1777);
    const lines = createInterface({ input: child.stdout! });
    let first: ((r: Reply) => void) | null = null;
    this.ready = new Promise((r) => (first = r));
    lines.on('line', (l) => {
      let reply: Reply;
      try {
        reply = JSON.parse(l) as Reply;
      } catch {
        this.log += `${l}\n`;
        return;
      }
      if (first) {
        first(reply);
        first = null;
      } else this.replies.shift()?.(reply);
    });
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    child.on('exit', () => {
      for (const r of this.replies.splice(0)) r({ ok: false, error: `the driver exited; its output:\n${this.log}` });
      first?.({ ok: false, error: `the driver exited; its output:\n${this.log}` });
    });
  }

  static async open(o: WindowOptions): Promise<DesktopWindow> {
    const screen = await startScreen();
    const inner = [
      'dbus-run-session', '--',
      '/usr/bin/python3', '-W', 'ignore', DRIVER, 'domud-desktop', '--',
      'gjs', '-m', MAIN, '--bus', o.bus,
    ];
    const argv = o.uid === undefined ? inner : ['setpriv', `--reuid=${o.uid}`, `--regid=${o.uid}`, '--clear-groups', ...inner];
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: o.uid === undefined ? (process.env.HOME ?? '/root') : tmpdir(),
      LANG: 'C.UTF-8',
      // No GL under Xvfb; the X11 backend is the one Xvfb speaks.
      GSK_RENDERER: 'cairo',
      GDK_BACKEND: 'x11',
      DISPLAY: screen.display,
      ...o.env,
    };
    // detached: the whole group (dbus-run-session, dbus-daemon, gjs) goes at close().
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const w = new DesktopWindow(child, screen);
    const r = await w.ready;
    if (!r.ok) {
      await w.close();
      throw new Error(`the window did not appear on the AT-SPI desktop:\n${w.log}`);
    }
    return w;
  }

  command(c: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.child.stdin!.write(`${JSON.stringify(c)}\n`);
    });
  }

  /** Resolves once a node named `text` shows; `ms` is how long that took. */
  wait(text: string, timeout = 10, scope?: string): Promise<Reply> {
    return this.command({ op: 'wait', text, timeout, scope });
  }
  /** Resolves once a node's name starts with `prefix`; `text` is the whole name. */
  waitPrefix(prefix: string, timeout = 10): Promise<Reply> {
    return this.command({ op: 'wait', prefix, timeout });
  }
  gone(text: string, timeout = 10, scope?: string): Promise<Reply> {
    return this.command({ op: 'gone', text, timeout, scope });
  }
  click(name: string): Promise<Reply> {
    return this.command({ op: 'click', name });
  }
  type(field: string, text: string): Promise<Reply> {
    return this.command({ op: 'type', field, text });
  }
  /** Selects the row that holds `text`, in the list named `scope` if given. */
  select(text: string, scope?: string): Promise<Reply> {
    return this.command({ op: 'select', text, scope });
  }
  tab(name: string): Promise<Reply> {
    return this.command({ op: 'tab', name });
  }
  async texts(scope?: string): Promise<string[]> {
    return (await this.command({ op: 'texts', scope })).texts ?? [];
  }
  /** The values (0 to 1) of the progress bars on show. */
  async progress(): Promise<number[]> {
    const r = await this.command({ op: 'progress' });
    if (!r.ok) throw new Error(`progress: ${r.error}`);
    return r.values ?? [];
  }
  /** The PID of the gjs process that shows the window. */
  async pid(): Promise<number> {
    return (await this.command({ op: 'pid' })).pid ?? 0;
  }

  /** Saves what the screen shows as OUTPUT/NAME.png; resolves to its path. */
  async screenshot(name: string): Promise<string> {
    // Settle a frame so that the picture shows what was just read.
    await new Promise((r) => setTimeout(r, 300));
    const tmp = join(this.shots, `${name}.png`);
    const r = await this.command({ op: 'shot', path: tmp });
    if (!r.ok) throw new Error(`screenshot ${name}: ${r.error}`);
    mkdirSync(OUTPUT, { recursive: true });
    const out = join(OUTPUT, `${name}.png`);
    copyFileSync(tmp, out);
    return out;
  }

  async close(): Promise<void> {
    const c = this.child;
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.stdin!.end();
      const t = setTimeout(() => {
        try {
          process.kill(-c.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await exited;
      clearTimeout(t);
    }
    // The session bus is in the group; make sure.
    try {
      process.kill(-this.child.pid!, 'SIGTERM');
    } catch {
      /* all gone */
    }
    await this.screen.stop();
    rmSync(this.shots, { recursive: true, force: true });
  }
}
