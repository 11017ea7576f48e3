// The guests, as a Gio.ListStore sorted by name, kept in step with domud's
// objects (objects.ts): InterfacesAdded/Removed add and drop items, and
// PropertiesChanged updates one item in place (its rows rebind through
// property notifications). Nothing polls.
import Gio from 'gi://Gio';
import { DOMAIN_IFACE } from './client.js';
import { GuestItem } from './guest-item.js';
import type { ObjectMirror, Props } from './objects.js';

const byName = (a: GuestItem, b: GuestItem): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class GuestStore {
  readonly model = new Gio.ListStore({ item_type: GuestItem.$gtype });
  private readonly byPath = new Map<string, GuestItem>();

  constructor(private readonly objects: ObjectMirror) {
    objects.connect({
      added: (path, iface, props) => iface === DOMAIN_IFACE && this.add(path, props),
      removed: (path, iface) => iface === DOMAIN_IFACE && this.remove(path),
      changed: (path, iface, values) => iface === DOMAIN_IFACE && this.byPath.get(path)?.update(values),
      reset: () => this.reload(),
    });
    this.reload();
  }

  /** Everything the mirror holds now, in one splice (one redraw, not one per guest). */
  private reload(): void {
    this.byPath.clear();
    const items: GuestItem[] = [];
    for (const [path, props] of this.objects.all(DOMAIN_IFACE)) items.push(this.itemFor(path, props));
    items.sort(byName);
    this.model.splice(0, this.model.get_n_items(), items);
  }

  private itemFor(path: string, props: Props): GuestItem {
    const item = new GuestItem(path, props);
    this.byPath.set(path, item);
    return item;
  }

  private add(path: string, props: Props): void {
    // Added again (removed and added back at once): the same item, brought up to date.
    const known = this.byPath.get(path);
    if (known) return known.update(props.all());
    this.model.insert_sorted(this.itemFor(path, props), byName);
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
