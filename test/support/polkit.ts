// polkit on a test bus, two ways. Polkitd runs Debian's real polkitd there,
// with the project's action file and a site's rule file installed where
// polkitd reads them. TestAuthority is a small stand-in that owns
// org.freedesktop.PolicyKit1 and answers CheckAuthorization as the test
// says, recording every question: for what polkitd cannot be made to do.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { servicePolicy } from '../../src/dev/bus-config.js';
import { PACKAGE_ROOT } from '../../src/dev/sandbox.js';

const { Message } = dbus;

export type Answer = 'yes' | 'challenge' | 'no' | 'error';

export interface Question {
  subject: [string, Record<string, dbus.Variant>];
  action: string;
  details: Record<string, string>;
  flags: number;
}

/** The bus policy that lets root own the authority's name and anyone ask it. */
export function polkitPolicy(dir: string): string {
  const f = join(dir, 'polkit-test.conf');
  writeFileSync(f, servicePolicy('org.freedesktop.PolicyKit1'));
  return f;
}

export class TestAuthority {
  answer: Answer = 'no';
  readonly questions: Question[] = [];
  private constructor(private readonly bus: dbus.MessageBus) {}

  static async start(address: string): Promise<TestAuthority> {
    const bus = dbus.sessionBus({ busAddress: address });
    const a = new TestAuthority(bus);
    bus.addMethodHandler((msg: dbus.Message) => {
      if (msg.interface !== 'org.freedesktop.PolicyKit1.Authority' || msg.member !== 'CheckAuthorization') return false;
      const [subject, action, details, flags] = msg.body as [Question['subject'], string, Record<string, string>, number];
      a.questions.push({ subject, action, details, flags });
      if (a.answer === 'error') {
        bus.send(Message.newError(msg as unknown as string, 'org.freedesktop.PolicyKit1.Error.Failed', 'test authority refuses to answer'));
      } else {
        const interactiveYes = a.answer === 'challenge' && (flags & 1) === 1;
        const result = [a.answer === 'yes' || interactiveYes, a.answer === 'challenge' && !interactiveYes, {}];
        bus.send(Message.newMethodReturn(msg, '(bba{ss})', [result]));
      }
      return true;
    });
    await bus.requestName('org.freedesktop.PolicyKit1', dbus.NameFlag.DO_NOT_QUEUE);
    return a;
  }

  stop(): void {
    this.bus.disconnect();
  }
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export const POLKITD = '/usr/lib/polkit-1/polkitd';
/** Debian's bus policy for polkitd: user polkitd may own the name, anyone may call it. */
export const POLKIT_BUS_POLICY = '/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf';
export const ACTIONS_DIR = '/usr/share/polkit-1/actions';
export const RULES_DIR = '/etc/polkit-1/rules.d';
export const PROJECT_POLICY = join(PACKAGE_ROOT, 'systemd', 'org.domud.domud1.policy');

/**
 * Puts the project's action file where the package puts it, and removes it
 * after the test. An action file already there (domud installed on this
 * machine) is left alone if it is the same, and is refused if it differs:
 * the test would not test the project's file.
 */
export function installActionFile(t: Teardown): string {
  const dest = join(ACTIONS_DIR, 'org.domud.domud1.policy');
  const ours = readFileSync(PROJECT_POLICY);
  if (existsSync(dest)) {
    if (!readFileSync(dest).equals(ours)) throw new Error(`${dest} is installed and differs from ${PROJECT_POLICY}; remove it to run this test`);
    return dest;
  }
  copyFileSync(PROJECT_POLICY, dest);
  t.teardown(() => rmSync(dest, { force: true }));
  return dest;
}

/** Writes a rules file into /etc/polkit-1/rules.d, as a site would; removed after the test. */
export function installRules(t: Teardown, name: string, text: string): string {
  const dest = join(RULES_DIR, name);
  writeFileSync(dest, text, { mode: 0o644, flag: 'wx' });
  t.teardown(() => rmSync(dest, { force: true }));
  return dest;
}

/**
 * Debian's polkitd on a private bus (DBUS_SYSTEM_BUS_ADDRESS): it starts as
 * root, drops to its own user `polkitd` and reads the installed actions and
 * rules. The bus must include POLKIT_BUS_POLICY.
 */
export class Polkitd {
  /** What polkitd printed: rules loaded, errors in them, each refusal it logs. */
  output = '';
  private constructor(
    private readonly child: ChildProcess,
    readonly address: string,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
  }

  static async start(t: Teardown, address: string): Promise<Polkitd> {
    // Only PATH and the bus: tap's loaders in NODE_OPTIONS mean nothing to it.
    const child = spawn(POLKITD, [], { env: { PATH: process.env.PATH, DBUS_SYSTEM_BUS_ADDRESS: address }, stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new Polkitd(child, address);
    t.teardown(() => p.stop());
    const until = Date.now() + 20_000;
    while (!(await p.owned())) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`polkitd exited (${child.exitCode ?? child.signalCode}): ${p.output}`);
      if (Date.now() > until) throw new Error(`polkitd did not own org.freedesktop.PolicyKit1 within 20 s: ${p.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return p;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private owned(): Promise<boolean> {
    return new Promise((resolve) => {
      execFile(
        'busctl',
        [`--address=${this.address}`, 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', 'org.freedesktop.PolicyKit1'],
        (err, out) => resolve(!err && out.trim() === 'b true'),
      );
    });
  }

  /** Runs pkaction(1) against this polkitd. */
  pkaction(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('pkaction', args, { env: { PATH: process.env.PATH, DBUS_SYSTEM_BUS_ADDRESS: this.address } }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr });
      });
    });
  }

  /** SIGSTOP: polkitd keeps its name and its calls, and answers none. SIGCONT resumes it. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGCONT'); // a paused polkitd would not act on SIGTERM
    c.kill('SIGTERM');
    await gone;
  }
}
