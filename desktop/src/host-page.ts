// Host readiness: CheckHost() as a list, one row per check with its verdict
// and, when it is not ok, what to do about it. Run when the page is first
// shown and on "Check again": checking reads many files on the host.
import Adw from 'gi://Adw?version=1';
import GLib from 'gi://GLib';
import Gtk from 'gi://Gtk?version=4.0';
import type { DomudClient, HostCheck } from './client.js';
import { explain } from './errors.js';

// The stable check ids (src/host/types.ts CheckId), as a person says them.
const TITLES: Record<string, string> = {
  hypervisor: 'Xen hypervisor',
  toolstack: 'Xen toolstack',
  'xen-boot-files': 'Xen boot files',
  'xen-kernels': 'dom0-capable kernels',
  'boot-entries': 'Boot menu entries',
  'tls-libc': 'TLS-safe C library',
  range: 'Guest address range',
  forwarding: 'IP forwarding',
  'xend-network-script': 'xend network script',
  'vif-route': 'vif-route script',
};

const VERDICT: Record<string, [string, string, string]> = {
  ok: ['OK', 'emblem-ok-symbolic', 'success'],
  warning: ['Warning', 'dialog-warning-symbolic', 'warning'],
  error: ['Needs fixing', 'dialog-error-symbolic', 'error'],
};

export class HostPage {
  readonly widget: Adw.PreferencesPage;
  private readonly group: Adw.PreferencesGroup;
  private readonly again = new Gtk.Button({ label: 'Check again', valign: Gtk.Align.CENTER });
  private readonly spinner = new Gtk.Spinner();
  private rows: Gtk.Widget[] = [];
  private loaded = false;

  constructor(private readonly client: DomudClient) {
    this.widget = new Adw.PreferencesPage({ title: 'Host', icon_name: 'emblem-system-symbolic' });
    this.group = new Adw.PreferencesGroup({ title: 'Host readiness', description: 'What this machine still needs to run Xen guests with domud.' });
    const suffix = new Gtk.Box({ spacing: 6 });
    suffix.append(this.spinner);
    suffix.append(this.again);
    this.group.set_header_suffix(suffix);
    this.widget.add(this.group);
    this.again.connect('clicked', () => void this.refresh());
    this.widget.connect('map', () => {
      if (!this.loaded) void this.refresh();
    });
  }

  private replace(rows: Gtk.Widget[]): void {
    for (const r of this.rows) this.group.remove(r);
    this.rows = rows;
    for (const r of rows) this.group.add(r);
  }

  async refresh(): Promise<void> {
    if (this.spinner.spinning) return;
    this.spinner.spinning = true;
    this.again.sensitive = false;
    try {
      this.replace((await this.client.checkHost()).map(row));
      this.loaded = true;
    } catch (e) {
      this.replace([new Gtk.Label({ wrap: true, css_classes: ['error'], label: explain(e, 'check the host').sentence })]);
    } finally {
      this.spinner.spinning = false;
      this.again.sensitive = true;
    }
  }
}

function row(c: HostCheck): Adw.ActionRow {
  const [verdict, icon, css] = VERDICT[c.status] ?? [c.status, 'dialog-question-symbolic', 'dim-label'];
  // Rows take markup (libadwaita 1.2 parses it whatever use-markup says);
  // the daemon's text is plain and may hold '<' or '&'.
  const r = new Adw.ActionRow({ title: TITLES[c.id] ?? c.id, subtitle: GLib.markup_escape_text(c.message, -1) });
  r.add_prefix(new Gtk.Image({ icon_name: icon, css_classes: [css] }));
  r.add_suffix(new Gtk.Label({ label: verdict, css_classes: [css] }));
  return r;
}
