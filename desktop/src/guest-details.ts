// The selected guest: every property of its domain object, and Start, Shut
// down and Destroy. Shut down waits for the guest to stop, with a spinner;
// Destroy asks first. Whatever a call ends with is said beside the buttons.
import Adw from 'gi://Adw?version=1';
import Gtk from 'gi://Gtk?version=4.0';
import type { DomudClient } from './client.js';
import { confirmDestructive } from './confirm.js';
import { explain } from './errors.js';
import { mib, orDash, vcpus, when } from './format.js';
import type { GuestItem } from './guest-item.js';

/** How long Shut down waits for the guest to stop before it says so. */
export const SHUTDOWN_WAIT_SECONDS = 60;

export class GuestDetails {
  readonly widget = new Adw.Bin({ width_request: 360 });
  private readonly none: Adw.StatusPage;
  private readonly page: Gtk.ScrolledWindow;
  private readonly group: Adw.PreferencesGroup;
  private readonly values = new Map<string, Gtk.Label>();
  private readonly startButton = new Gtk.Button({ label: 'Start' });
  private readonly shutdownButton = new Gtk.Button({ label: 'Shut down' });
  private readonly destroyButton = new Gtk.Button({ label: 'Destroy…', css_classes: ['destructive-action'] });
  private readonly spinner = new Gtk.Spinner();
  private readonly status = new Gtk.Label({ wrap: true, xalign: 0, selectable: true });
  private item: GuestItem | null = null;
  private handler = 0;
  private busy = false;

  constructor(
    private readonly client: DomudClient,
    private readonly window: Gtk.Window,
  ) {
    this.group = new Adw.PreferencesGroup();
    for (const key of ['State', 'Address', 'Domain ID', 'MAC address', 'Vif', 'Memory', 'vCPUs', 'Created at']) {
      const value = new Gtk.Label({ selectable: true, xalign: 1, css_classes: key === 'Address' || key === 'MAC address' ? ['monospace'] : [] });
      const row = new Adw.ActionRow({ title: key });
      row.add_suffix(value);
      this.values.set(key, value);
      this.group.add(row);
    }
    const buttons = new Gtk.Box({ spacing: 6 });
    for (const b of [this.startButton, this.shutdownButton, this.destroyButton]) buttons.append(b);
    buttons.append(this.spinner);
    this.startButton.connect('clicked', () => void this.act('start', (n) => this.client.startDomain(n)));
    this.shutdownButton.connect('clicked', () => void this.act('shut down', (n) => this.client.shutdownDomain(n, SHUTDOWN_WAIT_SECONDS)));
    this.destroyButton.connect('clicked', () => this.confirmDestroy());

    const page = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL, spacing: 18, margin_top: 18, margin_bottom: 18, margin_start: 18, margin_end: 18 });
    page.append(this.group);
    page.append(buttons);
    page.append(this.status);
    this.none = new Adw.StatusPage({ title: 'No guest selected', icon_name: 'computer-symbolic', description: 'Pick a guest in the list, or make a new one.' });
    this.page = new Gtk.ScrolledWindow({ child: page, hscrollbar_policy: Gtk.PolicyType.NEVER });
    this.widget.child = this.none;
  }

  show(item: GuestItem | null): void {
    if (this.item && this.handler) this.item.disconnect(this.handler);
    this.item = item;
    this.handler = item ? item.connect('notify', () => this.render()) : 0;
    this.status.label = '';
    this.widget.child = item ? this.page : this.none;
    this.render();
  }

  private render(): void {
    const i = this.item;
    if (!i) return;
    this.group.title = i.name;
    const set = (k: string, v: string) => (this.values.get(k)!.label = v);
    set('State', i.state);
    set('Address', orDash(i.address));
    set('Domain ID', i.domain_id < 0 ? 'not running' : String(i.domain_id));
    set('MAC address', orDash(i.mac));
    set('Vif', orDash(i.vif));
    set('Memory', mib(i.memory_mib));
    set('vCPUs', vcpus(i.vcpus));
    set('Created at', when(i.created_at));
    this.startButton.sensitive = !this.busy && i.state === 'stopped';
    this.shutdownButton.sensitive = !this.busy && i.running;
    this.destroyButton.sensitive = !this.busy;
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.spinner.spinning = busy;
    this.render();
  }

  private async act(verb: string, call: (name: string) => Promise<void>): Promise<void> {
    const item = this.item;
    if (!item || this.busy) return;
    const name = item.name;
    this.setBusy(true);
    this.status.label = verb === 'shut down' ? `Waiting for ${name} to shut down…` : '';
    try {
      await call(name);
      if (this.item === item) this.status.label = verb === 'shut down' ? `${name} has shut down.` : '';
    } catch (e) {
      const x = explain(e, `${verb} ${name}`);
      const sentence = x.name === 'org.domud.Domud1.Error.Timeout' && verb === 'shut down' ? `${name} did not shut down within ${SHUTDOWN_WAIT_SECONDS} seconds; it may still be stopping.` : x.sentence;
      if (this.item === item) this.status.label = sentence;
    } finally {
      this.setBusy(false);
    }
  }

  private confirmDestroy(): void {
    const name = this.item?.name;
    if (!name) return;
    confirmDestructive(
      this.window,
      `Destroy ${name}?`,
      'The guest stops at once, as if its power were cut. Its configuration and its address lease go, and domud forgets it.',
      'Destroy',
      () => void this.act('destroy', (n) => this.client.destroyDomain(n)),
    );
  }
}
