// The question asked before something that cannot be undone, as GNOME apps
// ask it: Cancel and a red verb, Cancel the default for Enter and Escape.
import Adw from 'gi://Adw?version=1';
import type Gtk from 'gi://Gtk?version=4.0';

export function confirmDestructive(parent: Gtk.Window, heading: string, body: string, verb: string, then: () => void): void {
  const d = new Adw.MessageDialog({ transient_for: parent, modal: true, heading, body });
  d.add_response('cancel', 'Cancel');
  d.add_response('yes', verb);
  d.set_response_appearance('yes', Adw.ResponseAppearance.DESTRUCTIVE);
  d.set_default_response('cancel');
  d.set_close_response('cancel');
  d.connect('response', (_d, response: string) => {
    if (response === 'yes') then();
  });
  d.present();
}
