// Running `ip`: always an argument vector handed to spawn, never a shell, so
// nothing in a vif name or an address can become a command. Output of
// `ip -j` is parsed as JSON; failures become typed errors that carry the
// argv and ip's own stderr.
import { spawn } from 'node:child_process';
import { IpBatch } from './batch.js';
import { IpCommandError, IpMissingError, IpOutputError } from './errors.js';

/** Runs argv[0] with the rest as arguments; resolves with stdout, rejects with IpCommandError/IpMissingError. */
export function run(argv: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' }, // ip's messages are matched below; keep them in English
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new IpMissingError(argv[0]!, { cause: e })));
    child.on('close', (status) => {
      if (status === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new IpCommandError(argv, status, Buffer.concat(err).toString('utf8')));
    });
    if (input !== undefined) {
      // A command that exits without reading (a missing namespace, say) makes
      // this write fail with EPIPE; its exit status and stderr tell why.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}

/**
 * Why an `ip` command failed, for the few failures that mean "already so":
 * - no-device: the interface does not exist (ip's own lookup, or ENODEV from the kernel);
 * - no-route: `ip route del` found no such route (ESRCH);
 * - no-address: `ip addr del` found no such address (EADDRNOTAVAIL).
 */
export type IpFailure = 'no-device' | 'no-route' | 'no-address' | 'other';

export function failureOf(error: unknown): IpFailure {
  if (!(error instanceof IpCommandError)) return 'other';
  const msg = error.stderr;
  if (/^Cannot find device "|No such device/m.test(msg)) return 'no-device';
  if (/^RTNETLINK answers: No such process$/m.test(msg)) return 'no-route';
  if (/^Error: ipv4: Address not found\.$|^RTNETLINK answers: Cannot assign requested address$/m.test(msg)) {
    return 'no-address';
  }
  return 'other';
}

/** `ip` bound to a binary and, optionally, a network namespace. */
export class Ip {
  private batch: IpBatch | null = null;
  private retries: Promise<unknown> = Promise.resolve();

  constructor(
    readonly command: string,
    readonly netns?: string,
  ) {}

  argv(args: readonly string[]): string[] {
    return this.netns === undefined ? [this.command, ...args] : [this.command, '-n', this.netns, ...args];
  }

  exec(args: readonly string[]): Promise<string> {
    return run(this.argv(args));
  }

  /**
   * A change (silent on success), through one long-lived `ip -batch` process
   * rather than a process of its own. ip -batch remembers the index of every
   * device it has looked up, so a vif deleted and made again under the same
   * name fails there though it would work afresh. A failed change changed
   * nothing, so it runs once more on its own, and that answer (and message)
   * is the one that counts; the batch restarts to forget what it knew.
   */
  async change(args: readonly string[]): Promise<void> {
    this.batch ??= new IpBatch(this.argv([]));
    try {
      await this.batch.run(args);
    } catch (e) {
      if (e instanceof TypeError) throw e; // refused before anything ran
      this.close();
      // In the order the batch answered, which is the order written: a
      // route retried before the address it needs would fail again.
      const retry = this.retries.then(() => run(this.argv(args)));
      this.retries = retry.catch(() => undefined);
      await retry;
    }
  }

  /** Lets the batch process end; a later change starts another. */
  close(): void {
    this.batch?.close();
    this.batch = null;
  }

  /** `ip -j <args>`, which prints one JSON array. */
  async json(args: readonly string[]): Promise<unknown[]> {
    const argv = this.argv(['-j', ...args]);
    const text = await run(argv);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new IpOutputError(argv, (e as Error).message);
    }
    if (!Array.isArray(value)) throw new IpOutputError(argv, 'expected a JSON array');
    return value;
  }
}
