// domud-desktop: a GTK 4 window over domud's D-Bus API (org.domud.Domud1).
// Run by GJS: gjs -m main.js [--bus system|session|ADDRESS]
import Adw from 'gi://Adw?version=1';
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';
import System from 'system';
import { parseOptions, USAGE, UsageError } from './options.js';
import { DomudClient } from './client.js';
import { MainWindow } from './window.js';

export const APP_ID = 'org.domud.Desktop';

function main(argv: string[]): number {
  let options;
  try {
    options = parseOptions(argv, (n) => GLib.getenv(n));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    printerr(`domud-desktop: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    print(USAGE);
    return 0;
  }
  // One window per desktop session talks to the system bus; a window on
  // another bus (the demo's, a test's) is an instance of its own.
  const flags = options.bus.kind === 'system' ? Gio.ApplicationFlags.FLAGS_NONE : Gio.ApplicationFlags.NON_UNIQUE;
  const app = new Adw.Application({ application_id: APP_ID, flags });
  // Ask domud for the guests at once: its answer (and its activation, when
  // it is not running) then overlaps GTK's start-up and the window's
  // building instead of following them. bench/desktop.ts measures it.
  const client = DomudClient.open(options.bus);
  client.catch(() => undefined); // the window reports it
  app.connect('activate', () => {
    const existing = app.get_active_window();
    if (existing) return existing.present();
    void new MainWindow(app, client).open();
  });
  return app.run([System.programInvocationName]);
}

System.exit(main(System.programArgs));
