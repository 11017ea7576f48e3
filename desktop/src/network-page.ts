// The network as domud sees it: the range, dom0's address, leases in use of
// the total, the toolstack, and whether IP forwarding is on, which domud
// never does and which this design does not want, hence the warning. The
// properties are read afresh each time the page is shown (ForwardingEnabled
// says what the kernel says at that moment) and follow PropertiesChanged.
import Adw from 'gi://Adw?version=1';
import Gtk from 'gi://Gtk?version=4.0';
import { cached, type DomudClient } from './client.js';
import { explain } from './errors.js';

export class NetworkPage {
  readonly widget: Adw.PreferencesPage;
  private readonly values = new Map<string, Gtk.Label>();
  private readonly warning: Adw.PreferencesGroup;
  private readonly error = new Gtk.Label({ wrap: true, css_classes: ['error'], visible: false });

  constructor(private readonly client: DomudClient) {
    this.widget = new Adw.PreferencesPage({ title: 'Network', icon_name: 'network-wired-symbolic' });
    this.warning = new Adw.PreferencesGroup({ visible: false });
    const warn = new Adw.ActionRow({
      title: 'IP forwarding is on',
      subtitle: 'Guests can reach beyond dom0. domud never turns forwarding on; something else did. Turn it off with “sysctl net.ipv4.ip_forward=0”.',
      css_classes: ['warning'],
    });
    warn.add_prefix(new Gtk.Image({ icon_name: 'dialog-warning-symbolic', css_classes: ['warning'] }));
    this.warning.add(warn);
    this.widget.add(this.warning);
    const group = new Adw.PreferencesGroup({ title: 'Network', description: 'Guests reach dom0 through a host route on their vif, and nothing beyond it.' });
    for (const key of ['Range', 'Dom0 address', 'Leases in use', 'Toolstack', 'IP forwarding', 'domud version']) {
      const value = new Gtk.Label({ selectable: true, xalign: 1 });
      const row = new Adw.ActionRow({ title: key });
      row.add_suffix(value);
      this.values.set(key, value);
      group.add(row);
    }
    group.add(this.error);
    this.widget.add(group);
    client.manager.connect('g-properties-changed', () => this.show(this.fromCache()));
    this.widget.connect('map', () => void this.refresh());
    this.show(this.fromCache());
  }

  private fromCache(): Record<string, unknown> {
    const p = this.client.manager;
    const out: Record<string, unknown> = {};
    for (const k of p.get_cached_property_names() ?? []) out[k] = cached(p, k);
    return out;
  }

  async refresh(): Promise<void> {
    try {
      this.show(await this.client.managerProperties());
      this.error.visible = false;
    } catch (e) {
      this.error.label = explain(e, 'read the network settings').sentence;
      this.error.visible = true;
    }
  }

  private show(p: Record<string, unknown>): void {
    const set = (k: string, v: unknown) => {
      if (v !== undefined) this.values.get(k)!.label = String(v);
    };
    set('Range', p.Network);
    set('Dom0 address', p.Dom0Address);
    if (p.LeasesInUse !== undefined && p.LeasesTotal !== undefined) set('Leases in use', `${p.LeasesInUse} of ${p.LeasesTotal}`);
    set('Toolstack', p.Toolstack);
    set('domud version', p.Version);
    if (p.ForwardingEnabled !== undefined) {
      set('IP forwarding', p.ForwardingEnabled ? 'On' : 'Off');
      this.warning.visible = p.ForwardingEnabled === true;
    }
  }
}
