// Build image: name, suite and size (both optional: dom0's release, 4 GiB),
// then CreateImage and the job's progress until its Completed signal says
// how it ended. Cancel during the build cancels the job (Job.Cancel); Close
// leaves it running, and the Images page shows its end.
import Adw from 'gi://Adw?version=1';
import GLib from 'gi://GLib';
import Gtk from 'gi://Gtk?version=4.0';
import { type DomudClient, JOB_IFACE, type JobWatch } from './client.js';
import { explain, type Field } from './errors.js';
import { parseSize } from './format.js';

type BuildField = 'name' | 'suite' | 'size';

export class BuildImageDialog {
  readonly window: Adw.Window;
  private readonly fields: Record<BuildField, Adw.EntryRow>;
  private readonly build = new Gtk.Button({ label: 'Build', css_classes: ['suggested-action'] });
  private readonly cancel = new Gtk.Button({ label: 'Cancel' });
  private readonly spinner = new Gtk.Spinner();
  private readonly progress = new Gtk.ProgressBar({ visible: false, show_text: true });
  private readonly message = new Gtk.Label({ wrap: true, xalign: 0, selectable: true, max_width_chars: 50 });
  private readonly group: Adw.PreferencesGroup;
  private state: 'form' | 'starting' | 'building' | 'done' = 'form';
  private job: string | null = null;
  private watch: JobWatch | null = null;
  private pulse = 0;
  private name = '';

  constructor(
    private readonly client: DomudClient,
    parent: Gtk.Window,
  ) {
    this.fields = {
      name: new Adw.EntryRow({ title: 'Image name' }),
      suite: new Adw.EntryRow({ title: 'Suite (optional)' }),
      size: new Adw.EntryRow({ title: 'Image size (optional)' }),
    };
    this.group = new Adw.PreferencesGroup({ description: 'An empty suite is this machine’s own release (bookworm, noble, …); an empty size, 4G. Building downloads the system and takes a while.' });
    for (const f of Object.values(this.fields)) {
      this.group.add(f);
      f.connect('changed', () => f.remove_css_class('error'));
    }
    this.fields.name.connect('entry-activated', () => void this.submit());

    const header = new Adw.HeaderBar({ show_end_title_buttons: false, show_start_title_buttons: false, title_widget: new Adw.WindowTitle({ title: 'Build image' }) });
    header.pack_start(this.cancel);
    header.pack_end(this.build);
    header.pack_end(this.spinner);
    const body = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL, spacing: 12, margin_top: 12, margin_bottom: 18, margin_start: 18, margin_end: 18 });
    body.append(this.group);
    body.append(this.progress);
    body.append(this.message);
    const content = new Gtk.Box({ orientation: Gtk.Orientation.VERTICAL });
    content.append(header);
    content.append(body);
    this.window = new Adw.Window({ transient_for: parent, modal: true, title: 'Build image', default_width: 440, content });
    this.cancel.connect('clicked', () => (this.state === 'building' ? void this.cancelJob() : this.window.close()));
    this.build.connect('clicked', () => (this.state === 'form' ? void this.submit() : this.window.close()));
    this.window.connect('close-request', () => {
      // The build goes on without this window; only the watching stops.
      this.watch?.stop();
      this.stopPulse();
      return false;
    });
  }

  present(): void {
    this.window.present();
    this.fields.name.grab_focus();
  }

  private say(sentence: string, field: Field, css = 'error'): void {
    this.message.label = sentence;
    this.message.css_classes = [css];
    if (field && field in this.fields) this.fields[field as BuildField].add_css_class('error');
  }

  private async submit(): Promise<void> {
    if (this.state !== 'form') return;
    const name = (this.fields.name.text ?? '').trim();
    if (name === '') return this.say('Give the image a name.', 'name');
    const suite = (this.fields.suite.text ?? '').trim() || undefined;
    const sizeText = (this.fields.size.text ?? '').trim();
    const size = sizeText === '' ? undefined : parseSize(sizeText);
    if (size === null) return this.say('A size is a number of bytes, or a number with K, M, G or T, e.g. 4G.', 'size');

    this.name = name;
    this.state = 'starting';
    this.say(`Starting to build ${name}…`, null, 'dim-label');
    this.spinner.spinning = true;
    this.build.sensitive = false;
    this.group.sensitive = false;
    // Subscribed before the call: a quick job may end before its reply.
    const watch = this.client.watchJob();
    this.watch = watch;
    let job: string;
    try {
      job = await this.client.createImage(name, { suite, size });
    } catch (e) {
      watch.stop();
      this.state = 'form';
      this.group.sensitive = true;
      this.build.sensitive = true;
      this.spinner.spinning = false;
      const x = explain(e, `build ${name}`);
      return this.say(x.sentence, x.field);
    }
    this.job = job;
    this.state = 'building';
    this.spinner.spinning = false;
    this.build.label = 'Close';
    this.build.remove_css_class('suggested-action');
    this.build.sensitive = true;
    this.progress.visible = true;
    this.say(`Building ${name}… Closing this window leaves the build running.`, null, 'dim-label');
    this.startPulse();
    // Where the job is now, in case it moved before the subscription saw it move.
    void Promise.all([
      this.client.property<number>(job, JOB_IFACE, 'Progress'),
      this.client.property<boolean>(job, JOB_IFACE, 'ProgressValid'),
    ])
      .then(([v, valid]) => this.state === 'building' && this.show(v, valid))
      .catch(() => {
        /* already gone: Completed says how it ended */
      });
    watch.follow(job, {
      progress: (v, valid) => this.show(v, valid),
      completed: (ok, message) => this.finish(ok, message),
    });
  }

  private show(value: number | undefined, valid: boolean | undefined): void {
    if (valid === false) return this.startPulse();
    if (value === undefined || Number.isNaN(value)) return;
    this.stopPulse();
    this.progress.fraction = Math.max(0, Math.min(1, value));
    this.progress.text = `${Math.floor(value * 100)} %`;
  }

  // While ProgressValid is false the bar pulses: it is working, how far is not known.
  private startPulse(): void {
    if (this.pulse) return;
    this.progress.text = '';
    this.pulse = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 200, () => {
      this.progress.pulse();
      return GLib.SOURCE_CONTINUE;
    });
  }

  private stopPulse(): void {
    if (this.pulse) GLib.source_remove(this.pulse);
    this.pulse = 0;
  }

  private finish(ok: boolean, message: string): void {
    this.stopPulse();
    this.state = 'done';
    this.cancel.visible = false;
    this.build.label = 'Done';
    this.build.sensitive = true;
    if (ok) {
      this.progress.fraction = 1;
      this.progress.text = '100 %';
      return this.say(`${this.name} is ready.`, null, 'success');
    }
    // "org.domud.Domud1.Error.Cancelled: cancelled during debootstrap": the
    // name says what happened; the rest, and a failure's last lines, are facts.
    const m = /^org\.domud\.Domud1\.Error\.([A-Za-z]+): ?([\s\S]*)$/.exec(message);
    const what = m?.[1] ?? '';
    const rest = (m?.[2] ?? message).trim();
    this.progress.visible = what !== 'Cancelled';
    if (what === 'Cancelled') this.say(`The build of ${this.name} was cancelled; nothing of it is left.`, null, 'dim-label');
    else if (what === 'NoSpace') this.say(`No space left to build ${this.name}: ${rest}`, null);
    else {
      // The first line says which step failed; of the output after it, the
      // last few lines are the ones that say why (debootstrap's E: lines).
      const [first = '', ...output] = rest.split('\n').filter((l) => l.trim() !== '');
      const tail = output.slice(-6);
      this.say(`The build of ${this.name} failed: ${[first, ...(output.length > tail.length ? ['…'] : []), ...tail].join('\n')}`, null);
    }
  }

  private async cancelJob(): Promise<void> {
    if (!this.job) return;
    this.cancel.sensitive = false;
    try {
      await this.client.cancelJob(this.job);
      this.say(`Cancelling the build of ${this.name}…`, null, 'dim-label');
    } catch (e) {
      // The job may have ended meanwhile; Completed then says how.
      if (this.state === 'building') this.say(explain(e, `cancel building ${this.name}`).sentence, null);
      this.cancel.sensitive = true;
    }
  }
}
