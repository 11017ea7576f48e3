// In-memory stand-ins for what the model runs on, as systemd's
// test-machined-core.c stands in for the bus: a toolstack that keeps its
// guests in a map and a route table over a set of vifs, sharing one host.
// The allocator is the real one, on a file in the test's directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { PHASE_KEY } from '../../../src/daemon/model/domain.js';
import { DomainManager, type ManagerDeps } from '../../../src/daemon/model/manager.js';
import { Allocator, Pool } from '../../../src/ipam/index.js';
import { VifNotFoundError, type Change, type VifRoute } from '../../../src/net/index.js';
import { DomainNotFoundError, ToolstackFailedError, type DomainInfo, type Toolstack, type XenState } from '../../../src/xm/index.js';

type Verb = 'list' | 'create' | 'shutdown' | 'destroy' | 'domid';

interface Guest {
  id: number;
  state: XenState;
}

export class FakeHost {
  readonly guests = new Map<string, Guest>();
  readonly vifs = new Set<string>();
  /** vif → address: the routes up. */
  readonly routes = new Map<string, string>();
  /** Every toolstack call, as `verb name`. */
  readonly calls: string[] = [];
  /** The next call of a verb fails with this error. */
  readonly fail = new Map<Verb, Error>();
  /** The next call of a verb waits for this promise first. */
  readonly hold = new Map<Verb, Promise<void>>();
  /** Guests made from now on get no vif (a hotplug that failed quietly). */
  noVif = false;
  /** A waited shutdown leaves the guest listed, shut down, as Xen does until it has torn it down. */
  linger = false;
  private nextId = 1;

  readonly toolstack: Toolstack = {
    kind: 'xl',
    command: '/fake/xl',
    list: async () => {
      await this.turn('list', '');
      return [...this.guests].map(([name, g]): DomainInfo => ({ name, id: g.id, memory: 64, vcpus: 1, state: g.state, flags: '-b----', cpuTime: 0 }));
    },
    info: async () => ({}),
    create: async (path) => {
      const name = /([^/]+)\.cfg$/.exec(path)![1]!;
      await this.turn('create', name);
      if (this.guests.has(name)) throw new ToolstackFailedError(['xl', 'create', path], 3, `Domain with name "${name}" already exists`);
      this.start(name);
    },
    shutdown: async (name, opts) => {
      await this.turn('shutdown', name);
      const g = this.need(name);
      if (!opts?.wait) return;
      if (this.linger) g.state = 'shutdown';
      else this.remove(name);
    },
    destroy: async (name) => {
      await this.turn('destroy', name);
      if (this.guests.has(name)) this.remove(name);
    },
    domid: async (name) => {
      await this.turn('domid', name);
      return this.need(name).id;
    },
  };

  readonly routeTable = {
    up: async (r: VifRoute): Promise<void> => {
      if (!this.vifs.has(r.vif)) throw new VifNotFoundError(r.vif);
      this.routes.set(r.vif, r.address);
    },
    down: async (r: VifRoute): Promise<void> => {
      if (this.routes.get(r.vif) === r.address) this.routes.delete(r.vif);
    },
    reconcile: async (running: readonly VifRoute[]): Promise<Change[]> => {
      this.routes.clear();
      for (const r of running) if (this.vifs.has(r.vif)) this.routes.set(r.vif, r.address);
      return [];
    },
    vifs: async (): Promise<string[]> => [...this.vifs],
  };

  /** A guest that runs, made by the toolstack (or behind domud's back). */
  start(name: string): number {
    const id = this.nextId++;
    this.guests.set(name, { id, state: 'blocked' });
    if (!this.noVif) this.vifs.add(`vif${id}.0`);
    return id;
  }

  /** A guest gone (and its vif and the routes on it with it). */
  remove(name: string): void {
    const g = this.guests.get(name);
    if (!g) return;
    this.guests.delete(name);
    this.vifs.delete(`vif${g.id}.0`);
    this.routes.delete(`vif${g.id}.0`);
  }

  count(verb: Verb): number {
    return this.calls.filter((c) => c.startsWith(`${verb} `)).length;
  }

  private need(name: string): Guest {
    const g = this.guests.get(name);
    if (!g) throw new DomainNotFoundError(name, `${name} is an invalid domain identifier`);
    return g;
  }

  private async turn(verb: Verb, name: string): Promise<void> {
    this.calls.push(`${verb} ${name}`);
    const held = this.hold.get(verb);
    if (held) {
      this.hold.delete(verb);
      await held;
    }
    const e = this.fail.get(verb);
    if (e) {
      this.fail.delete(verb);
      throw e;
    }
  }
}

export interface Rig {
  host: FakeHost;
  manager: DomainManager;
  allocator: Allocator;
  deps: ManagerDeps;
  configDir: string;
  /** Every log line, parsed. */
  logs: Array<{ msg: string; [k: string]: unknown }>;
  /** A new manager over the same host, leases and configs: a restarted daemon. */
  restart(deps?: Partial<ManagerDeps>): DomainManager;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export function rig(t: Teardown, o: Partial<ManagerDeps> = {}): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'domud-model-'));
  const allocator = Allocator.open(join(dir, 'leases.db'), Pool.parse('10.9.0.0/24'), { indexedAttrs: [PHASE_KEY] });
  t.teardown(() => {
    allocator.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const logs: Rig['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(JSON.parse(chunk.toString()) as Rig['logs'][number]);
      done();
    },
  });
  const host = new FakeHost();
  const deps: ManagerDeps = {
    allocator,
    toolstack: host.toolstack,
    routes: host.routeTable,
    defaults: { memory: 64, vcpus: 1, kernel: '/boot/vmlinuz', ramdisk: '' },
    configDir: dir,
    log: pino({ level: 'debug' }, sink),
    createGraceMs: 60_000,
    ...o,
  };
  return { host, manager: new DomainManager(deps), allocator, deps, configDir: dir, logs, restart: (more = {}) => new DomainManager({ ...deps, ...more }) };
}

/** A promise and the function that resolves it. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
