// New guest: name, memory, vCPUs and an optional fixed address; empty
// fields take the daemon's defaults. Optionally an image (ListImages, the
// ready ones) instead of the daemon's kernel, with a disk size and root's
// SSH key. CreateDomain runs with a spinner; then the dialog says the new
// guest's address. An error is one sentence, beside the field it is about,
// and the dialog stays as it was so it can be fixed.
import Adw from 'gi://Adw?version=1';
import GLib from 'gi://GLib';
import Gtk from 'gi://Gtk?version=4.0';
import { DOMAIN_IFACE, type DomudClient, type ImageRow } from './client.js';
import { explain, type Field } from './errors.js';
import { bytes, parseSize } from './format.js';

const U32_MAX = 0xffff_ffff;

type GuestField = 'name' | 'memory' | 'vcpus' | 'address' | 'disk_size' | 'ssh_key';
const NO_IMAGE = 'None (the daemon’s kernel)';

/**
 * The image layer's size checks (src/image/validate.ts checkSize) in the
 * dialog's words: "disk_size: N is not a size in bytes from MIN to MAX".
 */
function diskSizeSentence(sentence: string): string {
  const range = /disk_size: \d+ is not a size in bytes from (\d+) to (\d+)/.exec(sentence);
  if (range) return `The disk size must be at least the image’s size, ${bytes(Number(range[1]))}, and at most ${bytes(Number(range[2]))}.`;
  if (/disk_size: \d+ is not a multiple of 4096/.test(sentence)) return 'The disk size must be a whole number of 4 KiB blocks (as K, M, G or T sizes are).';
  return sentence;
}

/** The user's own public key, offered for root in a guest from an image; empty when there is none. */
function ownPublicKey(): string {
  for (const f of ['id_ed25519.pub', 'id_rsa.pub']) {
    try {
      const [ok, data] = GLib.file_get_contents(GLib.build_filenamev([GLib.get_home_dir(), '.ssh', f]));
      // A key line is ASCII (the daemon refuses anything else).
      const line = ok ? Array.from(data, (c) => String.fromCharCode(c)).join('').split('\n')[0]!.trim() : '';
      if (line) return line;
    } catch {
      /* no such key: try the next */
    }
  }
  return '';
}

export class NewGuestDialog {
  readonly window: Adw.Window;
  private readonly fields: Record<GuestField, Adw.EntryRow>;
  // Image rows in a list with single selection, each with a radio check
  // button that follows it: GTK 4.8 gives check buttons no AT-SPI action,
  // but a list box's selection is reachable (a combo row's choices sit in
  // a popover that would have to be opened first).
  private readonly imageGroup = new Adw.PreferencesGroup({ visible: false, title: 'Image', description: 'A guest from an image boots its own copy of it, with its hostname, address and key written in.' });
  private readonly imageList = new Gtk.ListBox({ selection_mode: Gtk.SelectionMode.SINGLE, css_classes: ['boxed-list'] });
  private readonly imageRows: Adw.ActionRow[] = [];
  private readonly diskGroup = new Adw.PreferencesGroup({ visible: false });
  private image: string | null = null;
  private readonly create = new Gtk.Button({ label: 'Create', css_classes: ['suggested-action'] });
  private readonly cancel = new Gtk.Button({ label: 'Cancel' });
  private readonly spinner = new Gtk.Spinner();
  private readonly message = new Gtk.Label({ wrap: true, xalign: 0, selectable: true, max_width_chars: 50 });
  private done = false;

  constructor(
    private readonly client: DomudClient,
    parent: Gtk.Window,
  ) {
    this.fields = {
      name: new Adw.EntryRow({ title: 'Name' }),
      memory: new Adw.EntryRow({ title: 'Memory (MiB)', input_purpose: Gtk.InputPurpose.DIGITS }),
      vcpus: new Adw.EntryRow({ title: 'vCPUs', input_purpose: Gtk.InputPurpose.DIGITS }),
      address: new Adw.EntryRow({ title: 'Address (optional)' }),
      disk_size: new Adw.EntryRow({ title: 'Disk size (optional)' }),
      ssh_key: new Adw.EntryRow({ title: 'SSH public key (optional)' }),
    };
    const group = new Adw.PreferencesGroup({ description: 'Memory and vCPUs left empty take domud’s defaults; the address, the next free one in the range.' });
    for (const [k, f] of Object.entries(this.fields)) {
      (k === 'disk_size' || k === 'ssh_key' ? this.diskGroup : group).add(f);
      f.connect('changed', () => f.remove_css_class('error'));
    }
    this.diskGroup.description = 'An empty disk size is the image’s own; K, M, G and T are powers of 1024 (8G). The key is one line of an OpenSSH .pub file, for root.';
    this.imageList.update_property([Gtk.AccessibleProperty.LABEL], ['Guest image']);
    this.imageGroup.add(this.imageList);
    this.imageList.connect('row-selected', (_l, row: Gtk.ListBoxRow | null) => {
      const check = row ? ((row as Adw.ActionRow).activatable_widget as Gtk.CheckButton | null) : null;
      if (check) check.active = true;
    });
    this.addImageRow(NO_IMAGE, null, '');
    void this.loadImages();
    this.fields.name.connect('entry-activated', () => void this.submit());

    const header = new Adw.HeaderBar({ show_end_title_buttons: false, show_start_title_buttons: false, title_widget: new Adw.WindowTitle({ title: 'New guest' }) });
    header.pack_start(this.cancel);
    header.pack_end(this.create);
    header.pack_end(this.spinner);
    const body = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL, spacing: 12, margin_top: 12, margin_bottom: 12, margin_start: 18, margin_end: 18 });
    body.append(group);
    body.append(this.imageGroup);
    body.append(this.diskGroup);
    // With images the form is taller than a small screen: the fields scroll,
    // the sentence about them stays in sight below.
    const scroller = new Gtk.ScrolledWindow({ child: body, hscrollbar_policy: Gtk.PolicyType.NEVER, propagate_natural_height: true, min_content_height: 300, max_content_height: 420, vexpand: true });
    this.message.margin_start = 18;
    this.message.margin_end = 18;
    this.message.margin_bottom = 18;
    const content = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL });
    content.append(header);
    content.append(scroller);
    content.append(this.message);
    this.window = new Adw.Window({ transient_for: parent, modal: true, title: 'New guest', default_width: 440, content });
    this.cancel.connect('clicked', () => this.window.close());
    this.create.connect('clicked', () => (this.done ? this.window.close() : void this.submit()));
  }

  private addImageRow(title: string, image: string | null, subtitle: string): void {
    const first = this.imageRows[0]?.activatable_widget as Gtk.CheckButton | undefined;
    const check = new Gtk.CheckButton({ group: first ?? null, active: !first, valign: Gtk.Align.CENTER });
    check.update_property([Gtk.AccessibleProperty.LABEL], [title]);
    const row = new Adw.ActionRow({ title: GLib.markup_escape_text(title, -1), subtitle: GLib.markup_escape_text(subtitle, -1), activatable_widget: check });
    row.add_prefix(check);
    check.connect('toggled', () => {
      if (!check.active) return;
      if (this.imageList.get_selected_row() !== row) this.imageList.select_row(row);
      this.image = image;
      for (const r of this.imageRows) r.remove_css_class('error');
      this.diskGroup.visible = image !== null;
      if (image !== null && (this.fields.ssh_key.text ?? '') === '') this.fields.ssh_key.text = ownPublicKey();
    });
    this.imageRows.push(row);
    this.imageList.append(row);
    if (!first) this.imageList.select_row(row);
  }

  /** The ready images; without any, the group stays hidden (the daemon's kernel it is). */
  private async loadImages(): Promise<void> {
    let images: ImageRow[] = [];
    try {
      images = (await this.client.listImages()).filter((i) => i.state === 'ready');
    } catch {
      // An older domud without images: the dialog is what it was.
    }
    for (const i of images) this.addImageRow(i.name, i.name, [i.suite, bytes(i.size)].filter(Boolean).join(' · '));
    this.imageGroup.visible = images.length > 0;
  }

  present(): void {
    this.window.present();
    this.fields.name.grab_focus();
  }

  private say(sentence: string, field: Field): void {
    this.message.label = sentence;
    this.message.css_classes = ['error'];
    if (field === 'image') this.imageRows.find((r) => (r.activatable_widget as Gtk.CheckButton).active)?.add_css_class('error');
    else if (field && field in this.fields) {
      this.fields[field as GuestField].add_css_class('error');
      // Focus scrolls the form to the field (the viewport follows it).
      this.fields[field as GuestField].grab_focus();
    }
  }

  /** The disk size field: undefined when empty (the image's size), null when it is no size. */
  private diskSize(): number | undefined | null {
    const text = (this.fields.disk_size.text ?? '').trim();
    if (text === '') return undefined;
    const n = parseSize(text);
    if (n === null) this.say('A disk size is a number of bytes, or a number with K, M, G or T, e.g. 8G.', 'disk_size');
    return n;
  }

  /** An empty field is undefined (the daemon's default); anything else must be a whole number. */
  private number(field: 'memory' | 'vcpus', what: string): number | undefined | null {
    const text = (this.fields[field].text ?? '').trim();
    if (text === '') return undefined;
    const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
    if (!(n >= 1 && n <= U32_MAX)) {
      this.say(`${what} is a whole number, 1 or more.`, field);
      return null;
    }
    return n;
  }

  private async submit(): Promise<void> {
    if (this.done || this.spinner.spinning) return;
    const name = (this.fields.name.text ?? '').trim();
    if (name === '') return this.say('Give the guest a name.', 'name');
    const memory = this.number('memory', 'Memory');
    if (memory === null) return;
    const vcpus = this.number('vcpus', 'The number of vCPUs');
    if (vcpus === null) return;
    const address = (this.fields.address.text ?? '').trim() || undefined;
    const image = this.image ?? undefined;
    const diskSize = image === undefined ? undefined : this.diskSize();
    if (diskSize === null) return;
    const sshKey = image === undefined ? undefined : (this.fields.ssh_key.text ?? '').trim() || undefined;

    this.message.label = `Creating ${name}…`;
    this.message.css_classes = ['dim-label'];
    this.spinner.spinning = true;
    this.create.sensitive = false;
    for (const f of Object.values(this.fields)) f.sensitive = false;
    this.imageGroup.sensitive = false;
    try {
      const path = await this.client.createDomain(name, { memory, vcpus, address, image, diskSize, sshKey });
      const leased = await this.client.property<string>(path, DOMAIN_IFACE, 'Address').catch(() => address ?? '');
      this.done = true;
      this.message.label = `${name} was created with address ${leased}.`;
      this.message.css_classes = ['success'];
      this.create.label = 'Done';
      this.cancel.visible = false;
    } catch (e) {
      const x = explain(e, `create ${name}`);
      for (const f of Object.values(this.fields)) f.sensitive = true;
      this.imageGroup.sensitive = true;
      this.say(x.field === 'disk_size' ? diskSizeSentence(x.sentence) : x.sentence, x.field);
    } finally {
      this.spinner.spinning = false;
      this.create.sensitive = true;
    }
  }
}
