// The guests, as a Gio.ListStore sorted by name, kept in step with domud's
// objects (objects.ts): InterfacesAdded/Removed add and drop items, and
// PropertiesChanged updates one item in place (its rows rebind through
// property notifications). Nothing polls. Until the objects are fetched the
// store holds the first look (first-look.ts); the fetch then gives the same
// items their full properties.
import Gio from 'gi://Gio';
import { DOMAIN_IFACE } from './client.js';
import { GuestItem } from './guest-item.js';
import type { ObjectMirror, PropertySource } from './objects.js';

const byName = (a: GuestItem, b: GuestItem): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class GuestStore {
  readonly model = new Gio.ListStore({ item_type: GuestItem.$gtype });
  private byPath = new Map<string, GuestItem>();

  /** `firstLook`: the guests to show until the mirror has fetched its objects. */
  constructor(
    private readonly objects: ObjectMirror,
    firstLook: Iterable<readonly [string, PropertySource]>,
  ) {
    objects.connect({
      added: (path, iface, props) => iface === DOMAIN_IFACE && this.add(path, props),
      removed: (path, iface) => iface === DOMAIN_IFACE && this.remove(path),
      changed: (path, iface, values) => iface === DOMAIN_IFACE && this.byPath.get(path)?.update(values),
      reset: () => this.reload(objects.all(DOMAIN_IFACE)),
    });
    this.reload(firstLook);
  }

  /**
   * The store becomes `guests`, sorted by name. A guest already shown keeps
   * its item (and so its row and the selection) and takes the new
   * properties; the list is spliced, in one go, only when the guests differ.
   */
  private reload(guests: Iterable<readonly [string, PropertySource]>): void {
    const before = this.byPath;
    this.byPath = new Map();
    const items: GuestItem[] = [];
    for (const [path, source] of guests) {
      let item = before.get(path);
      if (item) item.rebase(source);
      else item = new GuestItem(path, source);
      this.byPath.set(path, item);
      items.push(item);
    }
    items.sort(byName);
    const n = this.model.get_n_items();
    if (n === items.length && items.every((item, i) => this.model.get_item(i) === item)) return;
    this.model.splice(0, n, items);
  }

  private add(path: string, props: PropertySource): void {
    // Added again (removed and added back at once): the same item, brought up to date.
    const known = this.byPath.get(path);
    if (known) return known.rebase(props);
    const item = new GuestItem(path, props);
    this.byPath.set(path, item);
    this.model.insert_sorted(item, byName);
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
