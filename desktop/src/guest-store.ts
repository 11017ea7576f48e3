// The guests, as a Gio.ListStore sorted by name, kept in step with domud's
// ObjectManager: InterfacesAdded/Removed add and drop items, and
// PropertiesChanged updates one item in place (its rows rebind through
// property notifications). Nothing polls.
import Gio from 'gi://Gio';
import { DOMAIN_IFACE } from './client.js';
import { GuestItem } from './guest-item.js';

const pathOf = (o: Gio.DBusObject): string => o.get_object_path() ?? '';

const byName = (a: GuestItem, b: GuestItem): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class GuestStore {
  readonly model = new Gio.ListStore({ item_type: GuestItem.$gtype });
  private readonly byPath = new Map<string, GuestItem>();

  constructor(private readonly objects: Gio.DBusObjectManagerClient) {
    objects.connect('object-added', (_m, o: Gio.DBusObject) => this.add(o));
    objects.connect('object-removed', (_m, o: Gio.DBusObject) => this.remove(pathOf(o)));
    objects.connect('interface-proxy-properties-changed', (_m, o: Gio.DBusObjectProxy, p: Gio.DBusProxy) => {
      if (p.get_interface_name() === DOMAIN_IFACE) this.byPath.get(pathOf(o))?.update(p);
    });
    this.reload();
  }

  /** Everything the object manager holds now, in one splice (one redraw, not one per guest). */
  private reload(): void {
    const items: GuestItem[] = [];
    for (const o of this.objects.get_objects()) {
      const item = this.itemFor(o);
      if (item) items.push(item);
    }
    items.sort(byName);
    this.model.splice(0, this.model.get_n_items(), items);
  }

  private itemFor(o: Gio.DBusObject): GuestItem | null {
    const p = o.get_interface(DOMAIN_IFACE) as Gio.DBusProxy | null;
    if (!p) return null;
    const item = new GuestItem(pathOf(o));
    item.update(p, true);
    this.byPath.set(item.path, item);
    return item;
  }

  private add(o: Gio.DBusObject): void {
    if (this.byPath.has(pathOf(o))) return;
    const item = this.itemFor(o);
    if (item) this.model.insert_sorted(item, byName);
  }

  private remove(path: string): void {
    const item = this.byPath.get(path);
    if (!item) return;
    this.byPath.delete(path);
    const [found, pos] = this.model.find(item);
    if (found) this.model.remove(pos);
  }

  byName(name: string): GuestItem | undefined {
    for (const item of this.byPath.values()) if (item.name === name) return item;
    return undefined;
  }
}
