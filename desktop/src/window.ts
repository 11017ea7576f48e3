// The main window: guests, network, images and host views under one header bar, or,
// while domud's name has no owner, a status page that says so. The window
// follows the name (Gio.bus_watch_name) and comes back by itself when domud
// does; the object mirror (objects.ts) then fetches the guests again.
import Adw from 'gi://Adw?version=1';
import Gtk from 'gi://Gtk?version=4.0';
import type { DomudClient } from './client.js';
import { explain } from './errors.js';
import type { GuestItem } from './guest-item.js';
import { GuestDetails } from './guest-details.js';
import { guestList } from './guest-list.js';
import { GuestStore } from './guest-store.js';
import { HostPage } from './host-page.js';
import { ImagesPage } from './images-page.js';
import { NetworkPage } from './network-page.js';
import { NewGuestDialog } from './new-guest-dialog.js';
import { afterNextPaint } from './paint.js';
import { mark, markPainted } from './trace.js';

/** The objects are fetched after the first look is painted, or after this when no frame comes. */
const FETCH_AT_MOST_MS = 1000;

export class MainWindow {
  readonly window: Adw.ApplicationWindow;
  // One page at a time in the tree (not a Gtk.Stack, whose hidden pages
  // screen readers would still walk): the views, or a status page.
  private readonly body = new Adw.Bin({ vexpand: true });
  private readonly waiting: Adw.StatusPage;
  private readonly views = new Adw.ViewStack();
  private readonly newGuest = new Gtk.Button({ label: 'New guest', sensitive: false });
  private readonly gone: Adw.StatusPage;
  private readonly failed: Adw.StatusPage;
  private readonly startButton = new Gtk.Button({ label: 'Start domud', halign: Gtk.Align.CENTER, css_classes: ['pill', 'suggested-action'] });
  private client: DomudClient | null = null;

  constructor(app: Adw.Application, private readonly connecting: Promise<DomudClient>) {
    this.window = new Adw.ApplicationWindow({ application: app, title: 'Xen guests', default_width: 1040, default_height: 640 });
    const header = new Adw.HeaderBar({ title_widget: new Adw.ViewSwitcherTitle({ stack: this.views, title: 'Xen guests' }) });
    header.pack_start(this.newGuest);
    this.newGuest.connect('clicked', () => this.client && new NewGuestDialog(this.client, this.window).present());

    this.gone = new Adw.StatusPage({
      title: 'domud is not running',
      icon_name: 'computer-fail-symbolic',
      description: 'The guests come back here by themselves when domud starts again.',
      child: this.startButton,
    });
    this.startButton.connect('clicked', () => void this.startDaemon());
    this.failed = new Adw.StatusPage({ title: 'Cannot reach domud', icon_name: 'dialog-error-symbolic' });
    this.waiting = new Adw.StatusPage({ title: 'Connecting to domud…', child: new Gtk.Spinner({ spinning: true, width_request: 32, height_request: 32 }) });
    this.body.child = this.waiting;

    const content = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL });
    content.append(header);
    content.append(this.body);
    this.window.set_content(content);
  }

  async open(): Promise<void> {
    this.window.present();
    try {
      mark('window presented');
      this.client = await this.connecting;
      mark('connected, first look taken');
    } catch (e) {
      this.failed.description = explain(e, 'reach domud').sentence;
      this.body.child = this.failed;
      return;
    }
    const store = this.build(this.client);
    mark('views built');
    let drawn = false;
    const client = this.client;
    client.watchName((owned) => {
      this.body.child = owned ? this.views : this.gone;
      this.newGuest.sensitive = owned;
      if (owned && !drawn) {
        drawn = true;
        markPainted(this.window, () => `list drawn: ${store.model.get_n_items()} guests`);
        // The rest of every guest (and the images) once the first look is
        // on screen. When domud is not there, the mirror fetches by itself
        // as soon as it is.
        afterNextPaint(
          this.window,
          () =>
            client.objects.fetch().then(
              () => markPainted(this.window, () => `objects drawn: ${store.model.get_n_items()} guests`),
              (e: unknown) => printerr(`domud-desktop: cannot fetch domud's objects: ${e}`),
            ),
          FETCH_AT_MOST_MS,
        );
      }
    });
  }

  private build(client: DomudClient): GuestStore {
    mark('building');
    const store = new GuestStore(
      client.objects,
      client.firstLook.map((row) => [row.path, row] as const),
    );
    mark(`store filled: ${store.model.get_n_items()}`);
    store.model.connect('items-changed', (m, pos: number, _removed: number, added: number) => {
      if (added !== 1) return;
      const name = (m.get_item(pos) as GuestItem).name;
      markPainted(this.window, () => `shown: ${name}`);
    });
    // The model after autoselect is off, or the first guest would be selected unasked.
    const selection = new Gtk.SingleSelection({ autoselect: false, can_unselect: true });
    selection.model = store.model;
    const details = new GuestDetails(client, this.window);
    selection.connect('notify::selected-item', () => details.show(selection.selected_item as GuestItem | null));
    const scroller = new Gtk.ScrolledWindow({ child: guestList(selection), hexpand: true, hscrollbar_policy: Gtk.PolicyType.NEVER });
    const empty = new Adw.StatusPage({ title: 'No guests yet', icon_name: 'computer-symbolic', description: 'Make one with “New guest”.' });
    const listOrEmpty = new Adw.Bin({ hexpand: true });
    const showEmpty = () => {
      const want = store.model.get_n_items() === 0 ? empty : scroller;
      if (listOrEmpty.child !== want) listOrEmpty.child = want;
    };
    store.model.connect('items-changed', showEmpty);
    showEmpty();

    const guests = new Gtk.Box();
    guests.append(listOrEmpty);
    guests.append(new Gtk.Separator({ orientation: Gtk.Orientation.VERTICAL }));
    guests.append(details.widget);
    this.views.add_titled_with_icon(guests, 'guests', 'Guests', 'computer-symbolic');
    const network = new NetworkPage(client);
    this.views.add_titled_with_icon(network.widget, 'network', 'Network', 'network-wired-symbolic');
    const images = new ImagesPage(client, this.window);
    this.views.add_titled_with_icon(images.widget, 'images', 'Images', 'drive-harddisk-symbolic');
    const host = new HostPage(client);
    this.views.add_titled_with_icon(host.widget, 'host', 'Host', 'emblem-system-symbolic');
    return store;
  }

  private async startDaemon(): Promise<void> {
    if (!this.client) return;
    this.startButton.sensitive = false;
    try {
      await this.client.start();
    } catch (e) {
      this.gone.description = explain(e, 'start domud').sentence;
    } finally {
      this.startButton.sensitive = true;
    }
  }
}
