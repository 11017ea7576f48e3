// domud's service: locks its state directory, loads and reconciles its
// state, and only then owns org.domud.Domud1 (owning the name means ready:
// systemd Type=dbus). main.ts calls it once the configuration is read.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import dbus from 'dbus-next';
import type { Logger } from 'pino';
import { Allocator, Pool } from '../ipam/index.js';
import { Routes } from '../net/index.js';
import { openToolstack } from '../xm/index.js';
import { Authorizer } from './bus/authz.js';
import { BUS_NAME } from './bus/paths.js';
import { publish } from './bus/publish.js';
import type { Config, LogLevel } from './config.js';
import { hostChecks } from './host.js';
import { lockStateDirectory } from './lock.js';
import { packageVersion as version } from './package.js';
import { createLogger } from './log.js';
import { PHASE_KEY } from './model/domain.js';
import { Images } from './model/images.js';
import { Jobs } from './model/jobs.js';
import { DomainManager } from './model/manager.js';
import { unavailableToolstack } from './toolstack.js';

/** How long calls in flight may take to finish or roll back at SIGTERM. */
const STOP_GRACE_MS = 30_000;

/** Runs the daemon until SIGTERM/SIGINT; resolves with the exit status. */
export async function serve(config: Config, busName: string, level: LogLevel | undefined): Promise<number> {
  const log = createLogger(level ?? config.daemon.logLevel);
  try {
    return await run(config, busName, log);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && e instanceof Error) {
      log.fatal({ code }, e.message);
      process.stderr.write(`domud: ${e.message}\n`);
    } else {
      log.fatal({ err: e }, 'domud failed to start');
    }
    return 1;
  }
}

function connect(which: string, env: NodeJS.ProcessEnv = process.env): dbus.MessageBus {
  // Started by activation, the bus that started us is the one to serve.
  if (which === 'system' && env.DBUS_STARTER_BUS_TYPE === 'system' && env.DBUS_STARTER_ADDRESS) {
    return dbus.sessionBus({ busAddress: env.DBUS_STARTER_ADDRESS });
  }
  if (which === 'system') return dbus.systemBus();
  if (which === 'session') return dbus.sessionBus();
  return dbus.sessionBus({ busAddress: which });
}

async function run(config: Config, busName: string, log: Logger): Promise<number> {
  // The toolstack's first `list` is a process of its own: started first, it
  // runs while the bus connects and the leases load. It only reads, so a
  // daemon that then fails to lock its state directory has changed nothing.
  const found = openToolstack({ command: config.toolstack.command, timeoutMs: config.toolstack.timeoutSeconds * 1000 });
  const listing = found.then((t) => t.list());
  // Both are awaited below; until then a failure is not "unhandled".
  found.catch(() => undefined);
  listing.catch(() => undefined);
  // Connect first: the handshake's round trips to the bus then go on while
  // the state loads, instead of after it. The name is requested only once
  // everything is loaded.
  const bus = connect(busName);
  let stopping = false;
  const lost = (err?: unknown) => {
    if (stopping) return;
    log.fatal({ err }, 'lost the D-Bus connection; exiting so that the service manager restarts domud');
    process.exit(3);
  };
  bus.on('error', lost);
  (bus as unknown as { _connection: NodeJS.EventEmitter })._connection.on('end', () => lost());

  const stateDir = config.daemon.stateDirectory;
  const configDir = join(stateDir, 'domains');
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const lock = lockStateDirectory(stateDir);
  const pool = Pool.parse(config.network.range);
  const routes = new Routes({ range: pool.cidr, dom0: pool.dom0 });
  routes.prefetch(); // `ip` runs while the leases load; the first reconcile uses it
  // The model finds calls left half done by their phase, without reading every lease.
  const allocator = Allocator.open(join(stateDir, 'leases.db'), pool, { indexedAttrs: [PHASE_KEY] });
  for (const l of allocator.outOfRange) {
    log.warn({ domain: l.name, address: l.address, range: pool.cidr }, 'lease outside the configured range kept; its address is never handed out');
  }
  // Images before anything can build or clone: what a killed daemon's
  // builds and clones left goes first (Images.load).
  const jobs = new Jobs();
  const images = new Images({
    dir: join(stateDir, 'images'),
    disksDir: join(stateDir, 'disks'),
    debootstrap: config.images.debootstrap,
    cacheDir: config.images.cacheDirectory === '' ? undefined : config.images.cacheDirectory,
    jobs,
    log,
  });
  const imagesLoaded = images.load();
  imagesLoaded.catch(() => undefined); // awaited below
  let toolstack;
  try {
    toolstack = await found;
  } catch (e) {
    // A host that is not yet a dom0 still wants CheckHost and the leases.
    log.error({ err: e, command: config.toolstack.command }, 'no toolstack; lifecycle calls will fail until one is installed and domud restarted');
    toolstack = unavailableToolstack(e as Error);
  }
  const model = new DomainManager({
    allocator,
    toolstack,
    routes,
    defaults: config.domains,
    configDir,
    log,
    // The toolstack's own timeout, its kill grace (src/xm: 2 s) and a margin.
    createGraceMs: config.toolstack.timeoutSeconds * 1000 + 5_000,
    disks: images,
  });
  await imagesLoaded;

  const authz = new Authorizer({ bus, group: config.daemon.group, polkit: config.daemon.polkit, log });
  const [, dispatcher] = await Promise.all([
    model.load(listing),
    publish(
      bus,
      {
        model,
        images,
        jobs,
        authz,
        // With none found yet, the one it will drive once installed (auto prefers xl).
        toolstack: 'unavailable' in toolstack ? (config.toolstack.command === 'xm' || config.toolstack.command.endsWith('/xm') ? 'xm' : 'xl') : toolstack.kind,
        version: version(),
        forwarding: () => routes.forwarding(),
        checkHost: () => hostChecks({ toolstack, routes, range: pool.cidr }),
      },
      log,
    ),
  ]);
  log.info({ domains: model.count(), leases: model.leasesInUse(), toolstack: toolstack.kind, range: pool.cidr }, 'state loaded');
  const reply = await bus.requestName(BUS_NAME, dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) {
    throw Object.assign(new Error(`${BUS_NAME} is already owned on this bus; is another domud running?`), { code: 'NameTaken' });
  }
  log.info({ name: BUS_NAME }, 'ready');

  let timer: NodeJS.Timeout | undefined;
  const loop = async () => {
    try {
      await model.reconcile();
    } catch (err) {
      log.warn({ err }, 'reconcile failed; trying again next round');
    }
    if (!stopping) timer = setTimeout(loop, config.daemon.reconcileSeconds * 1000);
  };
  timer = setTimeout(loop, config.daemon.reconcileSeconds * 1000);

  return new Promise<number>((resolve) => {
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      clearTimeout(timer);
      log.info({ signal, inFlight: model.busy, jobs: jobs.list().length }, 'stopping');
      // A build cancelled cleans up after itself; its job completes (and says so) before the name goes.
      await Promise.all([model.close(STOP_GRACE_MS), jobs.cancelAll(STOP_GRACE_MS)]);
      await dispatcher.drain(2_000);
      try {
        await bus.releaseName(BUS_NAME);
      } catch {
        /* the bus may be gone already */
      }
      allocator.close();
      routes.close();
      lock.release();
      bus.disconnect();
      log.info('stopped');
      resolve(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });
}
