// New guest: name, memory, vCPUs and an optional fixed address; empty
// fields take the daemon's defaults. CreateDomain runs with a spinner; then
// the dialog says the new guest's address. An error is one sentence, beside
// the field it is about, and the dialog stays as it was so it can be fixed.
import Adw from 'gi://Adw?version=1';
import Gtk from 'gi://Gtk?version=4.0';
import { DOMAIN_IFACE, type DomudClient } from './client.js';
import { explain, type Field } from './errors.js';

const U32_MAX = 0xffff_ffff;

export class NewGuestDialog {
  readonly window: Adw.Window;
  private readonly fields: Record<Exclude<Field, null>, Adw.EntryRow>;
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
    };
    const group = new Adw.PreferencesGroup({ description: 'Memory and vCPUs left empty take domud’s defaults; the address, the next free one in the range.' });
    for (const f of Object.values(this.fields)) {
      group.add(f);
      f.connect('changed', () => f.remove_css_class('error'));
    }
    this.fields.name.connect('entry-activated', () => void this.submit());

    const header = new Adw.HeaderBar({ show_end_title_buttons: false, show_start_title_buttons: false, title_widget: new Adw.WindowTitle({ title: 'New guest' }) });
    header.pack_start(this.cancel);
    header.pack_end(this.create);
    header.pack_end(this.spinner);
    const body = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL, spacing: 12, margin_top: 12, margin_bottom: 18, margin_start: 18, margin_end: 18 });
    body.append(group);
    body.append(this.message);
    const content = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL });
    content.append(header);
    content.append(body);
    this.window = new Adw.Window({ transient_for: parent, modal: true, title: 'New guest', default_width: 440, content });
    this.cancel.connect('clicked', () => this.window.close());
    this.create.connect('clicked', () => (this.done ? this.window.close() : void this.submit()));
  }

  present(): void {
    this.window.present();
    this.fields.name.grab_focus();
  }

  private say(sentence: string, field: Field): void {
    this.message.label = sentence;
    this.message.css_classes = ['error'];
    if (field) this.fields[field].add_css_class('error');
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

    this.message.label = `Creating ${name}…`;
    this.message.css_classes = ['dim-label'];
    this.spinner.spinning = true;
    this.create.sensitive = false;
    for (const f of Object.values(this.fields)) f.sensitive = false;
    try {
      const path = await this.client.createDomain(name, { memory, vcpus, address });
      const leased = await this.client.property<string>(path, DOMAIN_IFACE, 'Address').catch(() => address ?? '');
      this.done = true;
      this.message.label = `${name} was created with address ${leased}.`;
      this.message.css_classes = ['success'];
      this.create.label = 'Done';
      this.cancel.visible = false;
    } catch (e) {
      const x = explain(e, `create ${name}`);
      for (const f of Object.values(this.fields)) f.sensitive = true;
      this.say(x.sentence, x.field);
    } finally {
      this.spinner.spinning = false;
      this.create.sensitive = true;
    }
  }
}
