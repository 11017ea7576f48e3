// One long-lived `ip -force -batch -` process for the changes Routes makes,
// so that bringing a vif up costs a pipe write per step instead of a fork and
// exec of `ip` per step (about 3.5 ms each, most of CreateDomain's own time).
//
// ip reads one command per line and, with -force, carries on after a failure,
// printing the command's own message and then "Command failed -:<line>" on
// stderr, which is unbuffered. stdout is a pipe and so block-buffered, which
// is why only changes (silent on success) come here and reads still spawn.
// Each command is followed by a fence that always fails without touching the
// kernel (an unknown object), so the fence's "Command failed" line says that
// everything before it is done; a "Command failed" for the command's own line
// says that it failed, and the lines before it say why.
import { type ChildProcess, spawn } from 'node:child_process';
import { IpCommandError, IpMissingError } from './errors.js';

const FENCE = 'domud-fence';
/** What a batch line may hold: ip splits words on blanks and reads quotes, '#' and '\' itself. */
const SAFE_WORD = /^[A-Za-z0-9_.:/-]+$/;
const FAILED = /^Command failed -:(\d+)$/;

interface Pending {
  readonly args: readonly string[];
  readonly line: number; // the command's line number in ip's input
  readonly fence: number; // its fence's
  failure: string | null;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export interface IpBatchOptions {
  /** How long one command may take before the process is deemed stuck, killed and restarted. */
  readonly timeoutMs?: number;
}

export class IpBatch {
  private session: Session | null = null;
  private readonly timeoutMs: number;

  /** `prefix` is how ip is run: ["ip"], or ["ip", "-n", "<netns>"]. */
  constructor(
    private readonly prefix: readonly string[],
    opts: IpBatchOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** Runs `ip <args>`; rejects with IpCommandError (ip's message in `stderr`) as a spawned `ip` would. */
  run(args: readonly string[]): Promise<void> {
    for (const a of args) {
      // Callers pass checked vif names and formatted addresses; this keeps a
      // slip from ever becoming a second command on the line.
      if (!SAFE_WORD.test(a)) return Promise.reject(new TypeError(`ip batch: refusing the argument ${JSON.stringify(a)}`));
    }
    if (this.session === null || this.session.over) this.session = new Session(this.prefix, this.timeoutMs);
    return this.session.run(args);
  }

  /** Ends the process: it exits at the end of its input, after the commands in flight. */
  close(): void {
    this.session?.end();
    this.session = null;
  }
}

/** One `ip -batch` process and the commands written to it. */
class Session {
  over = false; // dead, or being ended: the next command needs a new session
  private readonly child: ChildProcess;
  private lines = 0;
  private readonly pending: Pending[] = [];
  private said: string[] = []; // stderr lines since the last "Command failed"
  private partial = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly prefix: readonly string[],
    private readonly timeoutMs: number,
  ) {
    const child = spawn(prefix[0]!, [...prefix.slice(1), '-force', '-batch', '-'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' }, // its messages are matched by failureOf(); keep them in English
    });
    this.child = child;
    // The process must not keep the daemon (or a test) alive; a command in
    // flight does, through its timer.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr] as unknown as Array<{ unref(): void }>) s.unref();
    child.stdin!.on('error', () => undefined); // EPIPE after ip died: its exit says why
    child.stdout!.resume(); // silent on success; drained so that it can never block ip
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => this.read(s));
    child.on('error', (e) => this.fail(() => new IpMissingError(prefix[0]!, { cause: e })));
    child.on('close', (status) =>
      this.fail((args) => new IpCommandError(this.argv(args), status, this.said.join('\n') || `ip -batch ended (status ${status})`)),
    );
  }

  run(args: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const line = ++this.lines;
      const fence = ++this.lines;
      this.pending.push({ args, line, fence, failure: null, resolve, reject });
      this.child.stdin!.write(`${args.join(' ')}\n${FENCE}\n`);
      this.timer ??= setTimeout(() => this.stuck(), this.timeoutMs);
    });
  }

  end(): void {
    this.over = true;
    this.child.stdin!.end();
  }

  private read(s: string): void {
    const parts = (this.partial + s).split('\n');
    this.partial = parts.pop()!;
    for (const text of parts) {
      const m = FAILED.exec(text);
      if (!m) {
        this.said.push(text);
        continue;
      }
      const n = Number(m[1]);
      const said = this.said.join('\n');
      this.said = [];
      const head = this.pending[0];
      if (head !== undefined && n === head.line) {
        head.failure = said;
      } else if (head !== undefined && n === head.fence) {
        this.pending.shift();
        if (head.failure === null) head.resolve();
        else head.reject(new IpCommandError(this.argv(head.args), 1, `${head.failure}\n`));
        clearTimeout(this.timer);
        this.timer = this.pending.length > 0 ? setTimeout(() => this.stuck(), this.timeoutMs) : undefined;
      } else {
        // Not a line we wrote, in the order we wrote it: start afresh rather than guess.
        this.kill(`ip -batch reported a failure on line ${n}, expected ${head === undefined ? 'none' : `line ${head.line}`}`);
        return;
      }
    }
  }

  private stuck(): void {
    this.timer = undefined;
    this.kill(`ip -batch did not answer within ${this.timeoutMs} ms`);
  }

  private kill(why: string): void {
    this.fail((args) => new IpCommandError(this.argv(args), null, why));
    this.child.kill('SIGKILL');
  }

  /** Rejects everything in flight; the next command starts a new process. */
  private fail(error: (args: readonly string[]) => Error): void {
    this.over = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const p of this.pending.splice(0)) p.reject(error(p.args));
  }

  private argv(args: readonly string[]): string[] {
    return [...this.prefix, ...args];
  }
}
