// Images: every image domud knows (name, suite, state, size), kept current
// from domud's objects (objects.ts: InterfacesAdded/Removed of images) and
// PropertiesChanged (State) without polling; "Build image…" and Remove for
// a ready or failed one (asks first).
import Adw from 'gi://Adw?version=1';
import GLib from 'gi://GLib';
import Gtk from 'gi://Gtk?version=4.0';
import { type DomudClient, IMAGE_IFACE } from './client.js';
import type { Props } from './objects.js';
import { BuildImageDialog } from './build-image-dialog.js';
import { confirmDestructive } from './confirm.js';
import { explain } from './errors.js';
import { bytes } from './format.js';

const STATES: Record<string, string> = { building: 'Building', ready: 'Ready', failed: 'Failed' };

export class ImagesPage {
  readonly widget: Adw.PreferencesPage;
  private readonly group: Adw.PreferencesGroup;
  private readonly empty = new Adw.ActionRow({ title: 'No images yet', subtitle: 'Build one to make guests that boot their own Debian or Ubuntu.' });
  private readonly error = new Gtk.Label({ wrap: true, xalign: 0, css_classes: ['error'], visible: false });
  private rows: Gtk.Widget[] = [];
  private pending = 0;

  constructor(
    private readonly client: DomudClient,
    private readonly parent: Gtk.Window,
  ) {
    this.widget = new Adw.PreferencesPage({ title: 'Images', icon_name: 'drive-harddisk-symbolic' });
    this.group = new Adw.PreferencesGroup({ title: 'Images', description: 'Base systems built with debootstrap; a new guest can boot its own copy of a ready one.' });
    const build = new Gtk.Button({ label: 'Build image…', valign: Gtk.Align.CENTER });
    build.connect('clicked', () => new BuildImageDialog(client, parent).present());
    this.group.set_header_suffix(build);
    this.widget.add(this.group);
    const errors = new Adw.PreferencesGroup();
    errors.add(this.error);
    this.widget.add(errors);
    const changed = (_path: string, iface: string) => iface === IMAGE_IFACE && this.schedule();
    client.objects.connect({ added: changed, removed: changed, changed, reset: () => this.schedule() });
    this.refill();
  }

  /** Several signals in one main-loop turn (a build's end) redraw once. */
  private schedule(): void {
    if (this.pending) return;
    this.pending = GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
      this.pending = 0;
      this.refill();
      return GLib.SOURCE_REMOVE;
    });
  }

  /** A handful of images at most: rebuilding the rows is simpler than patching them. */
  private refill(): void {
    const images = [...this.client.objects.all(IMAGE_IFACE)].map(([, p]) => p);
    const name = (p: Props) => String(p.get('Name') ?? '');
    images.sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
    for (const r of this.rows) this.group.remove(r);
    this.rows = images.length ? images.map((p) => this.row(p)) : [this.empty];
    for (const r of this.rows) this.group.add(r);
  }

  private row(p: Props): Adw.ActionRow {
    const name = String(p.get('Name') ?? '');
    const state = String(p.get('State') ?? '');
    const suite = String(p.get('Suite') ?? '');
    const size = Number(p.get('Size') ?? 0);
    const facts = [suite, size ? bytes(size) : ''].filter(Boolean).join(' · ');
    const r = new Adw.ActionRow({ title: GLib.markup_escape_text(name, -1), subtitle: GLib.markup_escape_text(facts, -1) });
    const css = state === 'ready' ? 'success' : state === 'failed' ? 'error' : 'dim-label';
    r.add_suffix(new Gtk.Label({ label: STATES[state] ?? state, css_classes: [css] }));
    if (state === 'building') r.add_suffix(new Gtk.Spinner({ spinning: true }));
    else {
      const remove = new Gtk.Button({ icon_name: 'user-trash-symbolic', valign: Gtk.Align.CENTER, tooltip_text: `Remove ${name}`, css_classes: ['flat'] });
      remove.update_property([Gtk.AccessibleProperty.LABEL], [`Remove ${name}`]);
      remove.connect('clicked', () => this.confirmRemove(name));
      r.add_suffix(remove);
    }
    return r;
  }

  private confirmRemove(name: string): void {
    confirmDestructive(this.parent, `Remove ${name}?`, 'Its file is deleted. Guests made from it keep their own copies.', 'Remove', () => void this.remove(name));
  }

  private async remove(name: string): Promise<void> {
    this.error.visible = false;
    try {
      await this.client.removeImage(name);
    } catch (e) {
      this.error.label = explain(e, `remove ${name}`).sentence;
      this.error.visible = true;
    }
  }
}
