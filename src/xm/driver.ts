// The Toolstack over a command-line program. xm and xl take the same command
// lines for what domud uses (xl was made to); they differ in output formats
// and error words, which parseList() and classify() read for both.
import { classify } from './classify.js';
import { checkName } from './config.js';
import { ConfigValueError, DomainNotFoundError, ListParseError } from './errors.js';
import { parseDomid, parseInfo, parseList } from './list.js';
import { CallQueue } from './queue.js';
import { run, type RunResult } from './run.js';
import type { DomainInfo, ShutdownOptions, Toolstack, ToolstackKind } from './types.js';

export interface DriverOptions {
  kind: ToolstackKind;
  /** absolute path */
  command: string;
  timeoutMs: number;
  killGraceMs: number;
  maxOutput: number;
  maxParallel: number;
  /** the complete environment of every call */
  env: Readonly<Record<string, string>>;
}

interface CallOptions {
  /** serialize with other calls for this domain */
  key?: string;
  /** the domain named on the command line, for DomainNotFoundError */
  domain?: string;
  timeoutMs?: number;
}

export class CliToolstack implements Toolstack {
  readonly kind: ToolstackKind;
  readonly command: string;
  private readonly queue: CallQueue;

  constructor(private readonly opts: DriverOptions) {
    this.kind = opts.kind;
    this.command = opts.command;
    this.queue = new CallQueue(opts.maxParallel);
  }

  /** Runs `<command> ...args`; a non-zero exit becomes a typed error. */
  async call(args: readonly string[], c: CallOptions = {}): Promise<RunResult> {
    const o = this.opts;
    const r = await this.queue.run(c.key, () =>
      run(o.command, args, { timeoutMs: c.timeoutMs ?? o.timeoutMs, killGraceMs: o.killGraceMs, maxOutput: o.maxOutput, env: o.env }),
    );
    if (r.status !== 0) throw classify([o.command, ...args], r.status, r.stderr, r.stdout, c.domain);
    return r;
  }

  private async output(what: string, args: readonly string[], c?: CallOptions): Promise<string> {
    const r = await this.call(args, c);
    if (r.truncated) throw new ListParseError(what, 0, `more than ${this.opts.maxOutput} bytes of output`);
    return r.stdout;
  }

  async list(): Promise<DomainInfo[]> {
    return parseList(await this.output('list', ['list']));
  }

  async info(): Promise<Record<string, string>> {
    return parseInfo(await this.output('info', ['info']));
  }

  async create(configPath: string, opts: { name?: string } = {}): Promise<void> {
    // xl wants an absolute path; xm would search its --path for a relative one.
    if (!configPath.startsWith('/')) throw new ConfigValueError('configPath', `${JSON.stringify(configPath)} is not an absolute path`);
    const key = opts.name === undefined ? configPath : checkName('name', opts.name);
    await this.call(['create', configPath], { key });
  }

  async shutdown(name: string, opts: ShutdownOptions = {}): Promise<void> {
    // -w has no timeout of its own (and returns at once for a numeric id,
    // which checkName refuses): our deadline bounds it.
    const args = opts.wait ? ['shutdown', '-w', name] : ['shutdown', name];
    checkName('name', name);
    await this.call(args, { key: name, domain: name, timeoutMs: opts.timeoutMs });
  }

  async destroy(name: string): Promise<void> {
    checkName('name', name);
    try {
      await this.call(['destroy', name], { key: name, domain: name });
    } catch (e) {
      if (!(e instanceof DomainNotFoundError)) throw e; // gone already: that is what we wanted
    }
  }

  async domid(name: string): Promise<number> {
    checkName('name', name);
    return parseDomid(await this.output('domid', ['domid', name], { key: name, domain: name }));
  }
}
