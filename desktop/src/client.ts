// The window's whole view of domud: one bus connection, an object manager
// client for the guests, a proxy for the manager's properties, a watch on
// the bus name, and the method calls. Everything is asynchronous: the window
// never waits on the bus. Only the public API (data/dbus/) is used.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import type { BusChoice } from './options.js';

export const BUS_NAME = 'org.domud.Domud1';
export const MANAGER_PATH = '/org/domud/Domud1';
export const MANAGER_IFACE = 'org.domud.Domud1.Manager';
export const DOMAIN_IFACE = 'org.domud.Domud1.Domain';

/** Reads are quick; a change may wait for the toolstack and for a polkit agent's password prompt. */
const READ_TIMEOUT_MS = 30_000;
const CHANGE_TIMEOUT_MS = 10 * 60_000;

function connect(bus: BusChoice): Promise<Gio.DBusConnection> {
  return new Promise((resolve, reject) => {
    const done = (f: () => Gio.DBusConnection) => {
      try {
        resolve(f());
      } catch (e) {
        reject(e);
      }
    };
    if (bus.kind === 'address') {
      Gio.DBusConnection.new_for_address(
        bus.address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        null,
        null,
        (_o, res) => done(() => Gio.DBusConnection.new_for_address_finish(res)),
      );
    } else {
      Gio.bus_get(bus.kind === 'system' ? Gio.BusType.SYSTEM : Gio.BusType.SESSION, null, (_o, res) => done(() => Gio.bus_get_finish(res)));
    }
  });
}

function objectManager(conn: Gio.DBusConnection): Promise<Gio.DBusObjectManagerClient> {
  return new Promise((resolve, reject) => {
    Gio.DBusObjectManagerClient.new(conn, Gio.DBusObjectManagerClientFlags.NONE, BUS_NAME, MANAGER_PATH, null, null, (_o, res) => {
      try {
        resolve(Gio.DBusObjectManagerClient.new_finish(res) as Gio.DBusObjectManagerClient);
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

export class DomudClient {
  private constructor(
    readonly connection: Gio.DBusConnection,
    readonly objects: Gio.DBusObjectManagerClient,
    readonly manager: Gio.DBusProxy,
  ) {}

  /**
   * Connects and asks for domud. Both the object manager and the manager
   * proxy are made without DO_NOT_AUTO_START, so the bus activates domud
   * when nobody owns its name yet: the first call starts the daemon.
   */
  static async open(bus: BusChoice): Promise<DomudClient> {
    const conn = await connect(bus);
    const [objects, manager] = await Promise.all([objectManager(conn), proxy(conn, MANAGER_PATH, MANAGER_IFACE)]);
    return new DomudClient(conn, objects, manager);
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
    return this.raw('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'StartServiceByName', new GLib.Variant('(su)', [BUS_NAME, 0]), Gio.DBusCallFlags.NONE, READ_TIMEOUT_MS);
  }

  private raw(dest: string, path: string, iface: string, method: string, params: GLib.Variant | null, flags: Gio.DBusCallFlags, timeout: number): Promise<GLib.Variant> {
    return new Promise((resolve, reject) => {
      this.connection.call(dest, path, iface, method, params, null, flags, timeout, null, (c, res) => {
        try {
          resolve(c!.call_finish(res));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  private read(path: string, iface: string, method: string, params: GLib.Variant | null = null): Promise<GLib.Variant> {
    return this.raw(BUS_NAME, path, iface, method, params, Gio.DBusCallFlags.NONE, READ_TIMEOUT_MS);
  }

  /** Every change lets the desktop's polkit agent ask for a password. */
  private change(method: string, params: GLib.Variant): Promise<GLib.Variant> {
    return this.raw(BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, params, Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION, CHANGE_TIMEOUT_MS);
  }

  async createDomain(name: string, o: { memory?: number; vcpus?: number; address?: string }): Promise<string> {
    const opts: Record<string, GLib.Variant> = {};
    if (o.memory !== undefined) opts.memory = new GLib.Variant('u', o.memory);
    if (o.vcpus !== undefined) opts.vcpus = new GLib.Variant('u', o.vcpus);
    if (o.address !== undefined) opts.address = new GLib.Variant('s', o.address);
    const r = await this.change('CreateDomain', new GLib.Variant('(sa{sv})', [name, opts]));
    return r.get_child_value(0).get_string()[0] ?? '';
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
