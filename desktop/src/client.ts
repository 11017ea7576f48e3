// The window's whole view of domud: one bus connection, the guests' first
// look (first-look.ts), a mirror of its objects (objects.ts) for the guests
// and images, a proxy for the manager's properties, a watch on the bus
// name, and the method calls. Everything is asynchronous: the window never
// waits on the bus. Only the public API (data/dbus/) is used.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import { type DomainRow, domainRows } from './first-look.js';
import { ObjectMirror } from './objects.js';
import type { BusChoice } from './options.js';

export const BUS_NAME = 'org.domud.Domud1';
export const MANAGER_PATH = '/org/domud/Domud1';
export const MANAGER_IFACE = 'org.domud.Domud1.Manager';
export const DOMAIN_IFACE = 'org.domud.Domud1.Domain';
export const IMAGE_IFACE = 'org.domud.Domud1.Image';
export const JOB_IFACE = 'org.domud.Domud1.Job';

/** Reads are quick; a change may wait for the toolstack and for a polkit agent's password prompt. */
const READ_TIMEOUT_MS = 30_000;
const CHANGE_TIMEOUT_MS = 10 * 60_000;

/**
 * The one call made synchronously, and only to the bus, not to domud: an
 * asynchronous connection is handed over by the main loop, which first
 * runs GTK's start-up and the window's building, so the first look
 * would follow all that instead of overlapping it. GApplication
 * connects to the session bus the same way.
 */
function connect(bus: BusChoice): Gio.DBusConnection {
  if (bus.kind === 'address') {
    return Gio.DBusConnection.new_for_address_sync(bus.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, null, null);
  }
  return Gio.bus_get_sync(bus.kind === 'system' ? Gio.BusType.SYSTEM : Gio.BusType.SESSION, null);
}

/** One method call, asynchronous: its reply, or the D-Bus error as a rejection. */
function call(conn: Gio.DBusConnection, dest: string, path: string, iface: string, method: string, params: GLib.Variant | null, flags: Gio.DBusCallFlags, timeout: number): Promise<GLib.Variant> {
  return new Promise((resolve, reject) => {
    conn.call(dest, path, iface, method, params, null, flags, timeout, null, (c, res) => {
      try {
        resolve(c!.call_finish(res));
      } catch (e) {
        reject(e);
      }
    });
  });
}

function proxy(conn: Gio.DBusConnection, path: string, iface: string): Promise<Gio.DBusProxy> {
  return new Promise((resolve, reject) => {
    Gio.DBusProxy.new(conn, Gio.DBusProxyFlags.NONE, null, BUS_NAME, path, iface, null, (_o, res) => {
      try {
        resolve(Gio.DBusProxy.new_finish(res));
      } catch (e) {
        reject(e);
      }
    });
  });
}

export type Unpacked = unknown;

/** A property from a proxy's cache, unpacked; undefined when the proxy has none (yet). */
export function cached<T>(p: Gio.DBusProxy, name: string): T | undefined {
  const v = p.get_cached_property(name);
  return v === null ? undefined : (v.recursiveUnpack() as T);
}

export interface HostCheck {
  readonly id: string;
  readonly status: 'ok' | 'warning' | 'error' | string;
  readonly message: string;
}

export interface ImageRow {
  readonly name: string;
  readonly suite: string;
  readonly state: 'building' | 'ready' | 'failed' | string;
  readonly size: number;
  readonly path: string;
}

/** What a job says while it runs: its Progress changes and, once, Completed. */
export interface JobEvents {
  /** Either may be missing: PropertiesChanged carries what changed. */
  progress(value: number | undefined, valid: boolean | undefined): void;
  completed(success: boolean, message: string): void;
}

/**
 * A job watched from before the call that starts it: a fast job may send
 * Completed before the call's reply arrives, so the signals are subscribed
 * first and buffered until the job's path is known (follow()).
 */
export class JobWatch {
  private path: string | null = null;
  private events: JobEvents | null = null;
  private readonly early: Array<[string, (e: JobEvents) => void]> = [];
  private readonly ids: number[];

  constructor(private readonly conn: Gio.DBusConnection) {
    this.ids = [
      conn.signal_subscribe(BUS_NAME, JOB_IFACE, 'Completed', null, null, Gio.DBusSignalFlags.NONE, (_c, _s, path, _i, _m, params) => {
        const [ok, message] = params.recursiveUnpack() as [boolean, string];
        this.deliver(path ?? '', (e) => {
          e.completed(ok, message);
          this.stop();
        });
      }),
      conn.signal_subscribe(BUS_NAME, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', null, JOB_IFACE, Gio.DBusSignalFlags.NONE, (_c, _s, path, _i, _m, params) => {
        const [, changed] = params.recursiveUnpack() as [string, Record<string, unknown>];
        if (typeof changed.Progress !== 'number' && typeof changed.ProgressValid !== 'boolean') return;
        const value = typeof changed.Progress === 'number' ? changed.Progress : undefined;
        const valid = typeof changed.ProgressValid === 'boolean' ? changed.ProgressValid : undefined;
        this.deliver(path ?? '', (e) => e.progress(value, valid));
      }),
    ];
  }

  private deliver(path: string, f: (e: JobEvents) => void): void {
    if (this.events) {
      if (path === this.path) f(this.events);
    } else this.early.push([path, f]);
  }

  /** From now on, the events of the job at `path`, starting with those already seen. */
  follow(path: string, events: JobEvents): void {
    this.path = path;
    this.events = events;
    for (const [p, f] of this.early.splice(0)) if (p === path && this.ids.length) f(events);
  }

  stop(): void {
    for (const id of this.ids.splice(0)) this.conn.signal_unsubscribe(id);
  }
}

export class DomudClient {
  private constructor(
    readonly connection: Gio.DBusConnection,
    /** Subscribed, not yet fetched: the window calls objects.fetch() once it has drawn the first look. */
    readonly objects: ObjectMirror,
    readonly manager: Gio.DBusProxy,
    /** The guests as ListDomains gave them when the window opened (first-look.ts). */
    readonly firstLook: readonly DomainRow[],
  ) {}

  /**
   * Connects and asks for domud. ListDomains and the manager proxy go
   * without DO_NOT_AUTO_START, so the bus activates domud when nobody owns
   * its name yet: the first call starts the daemon. The objects' signals
   * are subscribed to first, so no change made meanwhile is missed.
   */
  static async open(bus: BusChoice): Promise<DomudClient> {
    const conn = connect(bus);
    const objects = new ObjectMirror(conn, BUS_NAME, MANAGER_PATH, [DOMAIN_IFACE, IMAGE_IFACE, JOB_IFACE]);
    objects.subscribe();
    const [listed, manager] = await Promise.all([
      call(conn, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'ListDomains', null, Gio.DBusCallFlags.NONE, READ_TIMEOUT_MS),
      proxy(conn, MANAGER_PATH, MANAGER_IFACE),
    ]);
    return new DomudClient(conn, objects, manager, domainRows(listed));
  }

  /** Calls back with true when org.domud.Domud1 has an owner, false when it has none; returns the watch's id. */
  watchName(changed: (owned: boolean) => void): number {
    return Gio.bus_watch_name_on_connection(
      this.connection,
      BUS_NAME,
      Gio.BusNameWatcherFlags.NONE,
      () => changed(true),
      () => changed(false),
    );
  }

  /** Asks the bus to start domud (activation), as the first call does. */
  start(): Promise<GLib.Variant> {
    return call(this.connection, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'StartServiceByName', new GLib.Variant('(su)', [BUS_NAME, 0]), Gio.DBusCallFlags.NONE, READ_TIMEOUT_MS);
  }

  private read(path: string, iface: string, method: string, params: GLib.Variant | null = null): Promise<GLib.Variant> {
    return call(this.connection, BUS_NAME, path, iface, method, params, Gio.DBusCallFlags.NONE, READ_TIMEOUT_MS);
  }

  /** Every change lets the desktop's polkit agent ask for a password. */
  private change(method: string, params: GLib.Variant): Promise<GLib.Variant> {
    return call(this.connection, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, params, Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION, CHANGE_TIMEOUT_MS);
  }

  async createDomain(name: string, o: { memory?: number; vcpus?: number; address?: string; image?: string; diskSize?: number; sshKey?: string }): Promise<string> {
    const opts: Record<string, GLib.Variant> = {};
    if (o.memory !== undefined) opts.memory = new GLib.Variant('u', o.memory);
    if (o.vcpus !== undefined) opts.vcpus = new GLib.Variant('u', o.vcpus);
    if (o.address !== undefined) opts.address = new GLib.Variant('s', o.address);
    if (o.image !== undefined) opts.image = new GLib.Variant('s', o.image);
    if (o.diskSize !== undefined) opts.disk_size = new GLib.Variant('t', o.diskSize);
    if (o.sshKey !== undefined) opts.ssh_key = new GLib.Variant('s', o.sshKey);
    const r = await this.change('CreateDomain', new GLib.Variant('(sa{sv})', [name, opts]));
    return r.get_child_value(0).get_string()[0] ?? '';
  }

  async listImages(): Promise<ImageRow[]> {
    const r = await this.read(MANAGER_PATH, MANAGER_IFACE, 'ListImages');
    return (r.recursiveUnpack() as [[string, string, string, number, number, string][]])[0].map(([name, suite, state, size, , path]) => ({ name, suite, state, size, path }));
  }

  /** Starts building an image; `watch` was made before, so that no signal of the job is missed. Resolves to the job's path. */
  async createImage(name: string, o: { suite?: string; size?: number }): Promise<string> {
    const opts: Record<string, GLib.Variant> = {};
    if (o.suite !== undefined) opts.suite = new GLib.Variant('s', o.suite);
    if (o.size !== undefined) opts.size = new GLib.Variant('t', o.size);
    const r = await this.change('CreateImage', new GLib.Variant('(sa{sv})', [name, opts]));
    return r.get_child_value(0).get_string()[0] ?? '';
  }

  watchJob(): JobWatch {
    return new JobWatch(this.connection);
  }

  async removeImage(name: string): Promise<void> {
    await this.change('RemoveImage', new GLib.Variant('(s)', [name]));
  }

  async cancelJob(path: string): Promise<void> {
    await call(this.connection, BUS_NAME, path, JOB_IFACE, 'Cancel', null, Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION, CHANGE_TIMEOUT_MS);
  }

  async startDomain(name: string): Promise<void> {
    await this.change('StartDomain', new GLib.Variant('(s)', [name]));
  }

  async shutdownDomain(name: string, timeoutSeconds: number): Promise<void> {
    const opts = { wait: new GLib.Variant('b', true), timeout: new GLib.Variant('u', timeoutSeconds) };
    await this.change('ShutdownDomain', new GLib.Variant('(sa{sv})', [name, opts]));
  }

  async destroyDomain(name: string): Promise<void> {
    await this.change('DestroyDomain', new GLib.Variant('(s)', [name]));
  }

  /** One property of any domud object, read now rather than from a cache. */
  async property<T>(path: string, iface: string, name: string): Promise<T> {
    const r = await this.read(path, 'org.freedesktop.DBus.Properties', 'Get', new GLib.Variant('(ss)', [iface, name]));
    return (r.recursiveUnpack() as [T])[0];
  }

  /** The manager's properties, read now (ForwardingEnabled says what the kernel says at this moment). */
  async managerProperties(): Promise<Record<string, unknown>> {
    const r = await this.read(MANAGER_PATH, 'org.freedesktop.DBus.Properties', 'GetAll', new GLib.Variant('(s)', [MANAGER_IFACE]));
    return (r.recursiveUnpack() as [Record<string, unknown>])[0];
  }

  async checkHost(): Promise<HostCheck[]> {
    const r = await this.read(MANAGER_PATH, MANAGER_IFACE, 'CheckHost');
    return (r.recursiveUnpack() as [[string, string, string][]])[0].map(([id, status, message]) => ({ id, status, message }));
  }
}
