// The guests list: a Gtk.ListView, which makes widgets only for the rows on
// screen, so a thousand guests cost a thousand small GObjects, not a
// thousand rows of widgets.
import Gtk from 'gi://Gtk?version=4.0';
import type { GuestItem } from './guest-item.js';
import { mib, orDash, vcpus } from './format.js';

interface Row {
  box: Gtk.Box;
  name: Gtk.Label;
  state: Gtk.Label;
  address: Gtk.Label;
  memory: Gtk.Label;
  vcpus: Gtk.Label;
  item: GuestItem | null;
  handler: number;
}

const rows = new WeakMap<Gtk.ListItem, Row>();

function label(width: number, css: string[] = []): Gtk.Label {
  return new Gtk.Label({ xalign: 0, width_chars: width, css_classes: css });
}

function render(r: Row): void {
  const i = r.item;
  if (!i) return;
  r.name.label = i.name;
  r.state.label = i.state;
  r.state.css_classes = ['state', i.running ? 'success' : i.state === 'crashed' ? 'error' : 'dim-label'];
  r.address.label = orDash(i.address);
  r.memory.label = mib(i.memory_mib);
  r.vcpus.label = vcpus(i.vcpus);
}

export function guestList(model: Gtk.SingleSelection): Gtk.ListView {
  const factory = new Gtk.SignalListItemFactory();
  factory.connect('setup', (_f, li: Gtk.ListItem) => {
    const r: Row = {
      box: new Gtk.Box({ spacing: 12, margin_start: 12, margin_end: 12, margin_top: 8, margin_bottom: 8 }),
      name: new Gtk.Label({ xalign: 0, hexpand: true, css_classes: ['heading'] }),
      state: label(8),
      address: label(15, ['monospace']),
      memory: label(9),
      vcpus: label(7),
      item: null,
      handler: 0,
    };
    for (const w of [r.name, r.state, r.address, r.memory, r.vcpus]) r.box.append(w);
    li.set_child(r.box);
    rows.set(li, r);
  });
  factory.connect('bind', (_f, li: Gtk.ListItem) => {
    const r = rows.get(li)!;
    r.item = li.get_item() as GuestItem;
    r.handler = r.item.connect('notify', () => render(r));
    render(r);
  });
  factory.connect('unbind', (_f, li: Gtk.ListItem) => {
    const r = rows.get(li)!;
    if (r.item && r.handler) r.item.disconnect(r.handler);
    r.item = null;
    r.handler = 0;
  });
  const view = new Gtk.ListView({ model, factory, css_classes: ['rich-list'], vexpand: true });
  view.update_property([Gtk.AccessibleProperty.LABEL], ['Guests']);
  return view;
}
