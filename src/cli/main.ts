// domuctl's flow: parse, connect only when a command needs the bus, run,
// and turn any failure into one line on stderr and a documented exit code.
import { busAddress, parse } from './args.js';
import { CliError, Exit, type ExitCode, exitCodeFor } from './exit.js';

export interface Io {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** stdin is a terminal: let polkit ask for a password. */
  readonly interactive: boolean;
}

export async function run(argv: readonly string[], io: Io): Promise<ExitCode> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    const { message, code } = describeFailure(e);
    io.stderr(`domuctl: ${message}\n`);
    return code;
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<ExitCode> {
  const p = parse(argv);
  if (p.kind === 'help') {
    io.stdout(p.text);
    return Exit.Ok;
  }
  const address = busAddress(p.bus, io.env);
  // Loaded here, not at the top: --help and usage errors never pay for them.
  const [{ Bus }, { Domud }, domains, manager] = await Promise.all([
    import('./bus.js'),
    import('./domud.js'),
    import('./commands/domains.js'),
    import('./commands/manager.js'),
  ]);
  const bus = await Bus.open(address);
  const c = { domud: new Domud(bus, io.interactive), json: p.json, write: io.stdout };
  const name = p.args[0]!;
  try {
    switch (p.command.name) {
      case 'list':
        await domains.list(c);
        break;
      case 'show':
        await domains.show(c, name);
        break;
      case 'create':
        await domains.create(c, name, p.values);
        break;
      case 'start':
        await domains.start(c, name);
        break;
      case 'shutdown':
        await domains.shutdown(c, name, p.values);
        break;
      case 'destroy':
        await domains.destroy(c, name);
        break;
      case 'leases':
        await manager.leases(c);
        break;
      case 'status':
        await manager.status(c);
        break;
      case 'doctor':
        return await manager.doctor(c);
      case 'image list':
        await (await import('./commands/images.js')).list(c);
        break;
      case 'image show':
        await (await import('./commands/images.js')).show(c, name);
        break;
      case 'image create':
        await (await import('./commands/images.js')).create(c, name, p.values);
        break;
      case 'image remove':
        await (await import('./commands/images.js')).remove(c, name);
        break;
      default:
        return await (await import('./commands/monitor.js')).monitor(c);
    }
    return Exit.Ok;
  } finally {
    bus.close();
  }
}

/** One line and an exit code for anything that went wrong. */
export function describeFailure(e: unknown): { message: string; code: ExitCode } {
  if (e instanceof CliError) return { message: e.message, code: e.code };
  const name = (e as { errorName?: unknown }).errorName;
  if (typeof name === 'string') {
    const code = exitCodeFor(name);
    // The first line only: a buggy service may send a stack trace.
    const text = (e as Error).message.split('\n')[0]!.trim() || 'failed';
    if ((e as { local?: unknown }).local === true) return { message: text, code };
    return { message: `${code === Exit.Unreachable ? `domud is not running: ${text}` : text} (${name})`, code };
  }
  return { message: `internal error: ${(e as Error)?.stack ?? String(e)}`, code: Exit.Failure };
}
