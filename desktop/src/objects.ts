// domud's objects, kept in step with its ObjectManager: one
// GetManagedObjects, then InterfacesAdded/Removed and PropertiesChanged. It
// stands in for Gio.DBusObjectManagerClient, which builds a GDBusProxy (and
// a GObject per object) for every interface listed, the standard Peer,
// Introspectable and Properties included: four proxies per guest. Here an
// object is a Map from interface to its properties, and only the interfaces
// asked for (domud's own) are kept.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

/** What an item reads its D-Bus properties from: Props, or the window's first look (first-look.ts). */
export interface PropertySource {
  /** One property, unpacked; undefined when not known. */
  get(name: string): unknown;
}

/**
 * One interface's properties, unpacked when first read rather than when
 * they arrive: GetManagedObjects brings every guest at once, and unpacking
 * all their properties in GJS (several calls into GLib each) cost more
 * than the rest of the list together. The list reads each guest's name to
 * sort it, and the rest only for the rows on screen.
 */
export class Props implements PropertySource {
  private readonly values = new Map<string, unknown>();

  /** `packed`: the a{sv} from GetManagedObjects or InterfacesAdded. */
  constructor(private readonly packed: GLib.Variant) {}

  get(name: string): unknown {
    if (!this.values.has(name)) this.values.set(name, this.packed.lookup_value(name, null)?.recursiveUnpack());
    return this.values.get(name);
  }

  /** From PropertiesChanged; an invalidated property is no longer known, as with a GDBusProxy. */
  update(changed: Readonly<Record<string, unknown>>, invalidated: readonly string[]): void {
    for (const [k, v] of Object.entries(changed)) this.values.set(k, v);
    for (const k of invalidated) this.values.set(k, undefined);
  }
}

/** What the mirror says; `reset` means "everything may differ: read all(iface) again". */
export interface MirrorEvents {
  added(path: string, iface: string, props: Props): void;
  removed(path: string, iface: string): void;
  /** `values`: the properties that changed, unpacked; `names`: those and the invalidated ones. */
  changed(path: string, iface: string, values: Readonly<Record<string, unknown>>, names: readonly string[]): void;
  reset(): void;
}

const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const TIMEOUT_MS = 30_000;

type Signal = [member: string, path: string, params: GLib.Variant];

const str = (v: GLib.Variant): string => v.get_string()[0] ?? '';

export class ObjectMirror {
  private readonly objects = new Map<string, Map<string, Props>>();
  private readonly listeners: Array<Partial<MirrorEvents>> = [];
  /** Signals seen while a GetManagedObjects is on its way; null when none is. */
  private early: Signal[] | null = null;
  /** Bumped when the owner goes: a reply from before is about a daemon that is gone. */
  private generation = 0;

  /** `ifaces`: the interfaces kept (domud's own: org.domud.Domud1.Domain, .Image, .Job). */
  constructor(
    private readonly conn: Gio.DBusConnection,
    private readonly name: string,
    private readonly managerPath: string,
    private readonly ifaces: readonly string[],
  ) {}

  /**
   * Subscribes to the signals, and keeps them until the first fetch()
   * applies them over its reply, so that nothing sent from now on is lost.
   */
  subscribe(): void {
    const c = this.conn;
    this.early = [];
    // The match rules go to the bus before the call on the same
    // connection, so they are in place before domud sees the call.
    c.signal_subscribe(this.name, OBJECT_MANAGER, null, this.managerPath, null, Gio.DBusSignalFlags.NONE, (_c, _s, _p, _i, member, params) =>
      this.signal([member ?? '', '', params]),
    );
    // arg0 is the interface: only those kept, so the bus sends no other.
    for (const iface of this.ifaces) {
      c.signal_subscribe(this.name, PROPERTIES, 'PropertiesChanged', null, iface, Gio.DBusSignalFlags.NONE, (_c, _s, path, _i, member, params) =>
        this.signal([member ?? '', path ?? '', params]),
      );
    }
    c.signal_subscribe('org.freedesktop.DBus', 'org.freedesktop.DBus', 'NameOwnerChanged', '/org/freedesktop/DBus', this.name, Gio.DBusSignalFlags.NONE, (_c, _s, _p, _i, _m, params) => {
      const [, oldOwner, newOwner] = params.deepUnpack() as [string, string, string];
      if (oldOwner) this.ownerGone();
      if (newOwner) this.ownerCame();
    });
  }

  /** Every object that has `iface`, with its properties. */
  *all(iface: string): Generator<[string, Props]> {
    for (const [path, ifaces] of this.objects) {
      const props = ifaces.get(iface);
      if (props) yield [path, props];
    }
  }

  connect(handlers: Partial<MirrorEvents>): void {
    this.listeners.push(handlers);
  }

  private emit<K extends keyof MirrorEvents>(event: K, ...args: Parameters<MirrorEvents[K]>): void {
    for (const l of this.listeners) (l[event] as ((...a: Parameters<MirrorEvents[K]>) => void) | undefined)?.(...args);
  }

  private ownerGone(): void {
    // As GDBusObjectManagerClient does: nothing is shown of a daemon that
    // is not there. The window shows its status page meanwhile.
    this.generation++;
    this.early = null;
    if (this.objects.size === 0) return;
    this.objects.clear();
    this.emit('reset');
  }

  private ownerCame(): void {
    // The window's first call may itself have started domud (activation):
    // its first fetch is still to come, or its reply is, so no second one.
    if (this.early) return;
    this.fetch().catch((e: unknown) => printerr(`domud-desktop: cannot fetch domud's objects: ${e}`));
  }

  /**
   * Fetches every object (GetManagedObjects); rejects when that fails. It
   * goes without DO_NOT_AUTO_START: when nobody owns the name, the bus
   * starts domud for it.
   *
   * Why the signals that come before the reply are kept and applied over
   * it: one connection delivers in order, so every signal sent
   * after the reply comes after it and is applied as usual; but domud
   * builds the reply over several turns of its loop (GetManagedObjects
   * awaits each object's properties), so a signal that comes before it
   * may or may not be reflected in it. Each signal carries the values as
   * they were when it was sent, in order, so applying them all over the
   * reply ends where domud is: an object added or removed meanwhile ends
   * added or removed, and a property's last value is its last signal's.
   */
  fetch(): Promise<void> {
    const generation = this.generation;
    this.early ??= [];
    return new Promise((resolve, reject) => {
      this.conn.call(this.name, this.managerPath, OBJECT_MANAGER, 'GetManagedObjects', null, null, Gio.DBusCallFlags.NONE, TIMEOUT_MS, null, (c, res) => {
        let reply: GLib.Variant;
        try {
          reply = c!.call_finish(res);
        } catch (e) {
          if (generation === this.generation) this.early = null;
          reject(e);
          return;
        }
        if (generation !== this.generation) return resolve(); // the owner went meanwhile: ownerCame() fetches again
        const early = this.early ?? [];
        this.early = null;
        this.objects.clear();
        const all = reply.get_child_value(0);
        for (let i = 0, n = all.n_children(); i < n; i++) {
          const entry = all.get_child_value(i);
          this.put(str(entry.get_child_value(0)), entry.get_child_value(1));
        }
        for (const s of early) this.apply(s, false);
        this.emit('reset');
        resolve();
      });
    });
  }

  private signal(s: Signal): void {
    if (this.early) this.early.push(s);
    else this.apply(s, true);
  }

  /** Keeps the interfaces asked for from an a{sa{sv}}; returns those kept. */
  private put(path: string, ifaces: GLib.Variant): Array<[string, Props]> {
    const kept: Array<[string, Props]> = [];
    for (const iface of this.ifaces) {
      // Looked up by name: the standard interfaces are never unpacked.
      const packed = ifaces.lookup_value(iface, null);
      if (!packed) continue;
      let o = this.objects.get(path);
      if (!o) this.objects.set(path, (o = new Map()));
      const props = new Props(packed);
      o.set(iface, props);
      kept.push([iface, props]);
    }
    return kept;
  }

  private apply([member, path, params]: Signal, tell: boolean): void {
    if (member === 'InterfacesAdded') {
      const p = str(params.get_child_value(0));
      for (const [iface, props] of this.put(p, params.get_child_value(1))) if (tell) this.emit('added', p, iface, props);
    } else if (member === 'InterfacesRemoved') {
      const [p, ifaces] = params.deepUnpack() as [string, string[]];
      const o = this.objects.get(p);
      if (!o) return;
      for (const iface of ifaces) if (o.delete(iface) && tell) this.emit('removed', p, iface);
      if (o.size === 0) this.objects.delete(p);
    } else if (member === 'PropertiesChanged') {
      const [iface, changed, invalidated] = params.recursiveUnpack() as [string, Record<string, unknown>, string[]];
      const props = this.objects.get(path)?.get(iface);
      if (!props) return;
      props.update(changed, invalidated);
      if (tell) this.emit('changed', path, iface, changed, [...Object.keys(changed), ...invalidated]);
    }
  }
}
