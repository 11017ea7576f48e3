// Every D-Bus error a call can end with, said as one sentence a person can
// act on. `doing` is what the user asked for, as the rest of a sentence
// ("create web1", "shut down web1"), so that a refusal reads "You are not
// allowed to create web1." The daemon's own message, where it carries facts
// (the toolstack's first line of error output), follows the sentence.
import Gio from 'gi://Gio';
import GLib from 'gi://GLib';

const ERR = 'org.domud.Domud1.Error.';

/** Where a sentence belongs in a form: beside a field, or for the whole call. */
export type Field = 'name' | 'memory' | 'vcpus' | 'address' | 'image' | 'disk_size' | 'ssh_key' | 'suite' | 'size' | null;

// The option an InvalidArgument is about: the image layer's messages start
// with it ("disk_size: 1048576 is not …"), the bus layer's name it quoted.
const OPTION_FIELDS: Exclude<Field, null>[] = ['disk_size', 'ssh_key', 'suite', 'size', 'image'];
function optionField(d: string): Field {
  for (const f of OPTION_FIELDS) if (d.startsWith(`${f}:`) || d.includes(`"${f}"`)) return f;
  return null;
}

export interface Explained {
  readonly name: string;
  readonly sentence: string;
  readonly field: Field;
}

function remoteName(e: unknown): string {
  if (e instanceof GLib.Error) return Gio.dbus_error_get_remote_error(e) ?? '';
  return '';
}

function detail(e: unknown): string {
  if (e instanceof GLib.Error) {
    // After remoteName() has read the name: this takes it out of the message.
    Gio.dbus_error_strip_remote_error(e);
    return (e.message ?? '').trim();
  }
  return e instanceof Error ? e.message : String(e);
}

const withDetail = (sentence: string, d: string): string => (d ? `${sentence} ${d.endsWith('.') ? d : `${d}.`}` : sentence);

export function explain(e: unknown, doing: string): Explained {
  const name = remoteName(e);
  const d = detail(e);
  const say = (sentence: string, field: Field = null): Explained => ({ name, sentence, field });
  switch (name) {
    case 'org.freedesktop.DBus.Error.AccessDenied':
    case 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired':
      return say(`You are not allowed to ${doing}.`);
    case `${ERR}InvalidName`:
      return say('A name is 1 to 63 letters, digits, "_", "." or "-", starts with a letter or digit, and is not Domain-0.', 'name');
    case `${ERR}DomainExists`:
      return say('A guest with that name exists already.', 'name');
    case `${ERR}PoolExhausted`:
      return say('No address is free in the range: destroy a guest to free one.');
    case `${ERR}AddressUnavailable`:
      return say('That address is outside the range, reserved, or leased to another guest.', 'address');
    case `${ERR}InvalidArgument`:
      return say(withDetail(`Could not ${doing}:`, d), optionField(d));
    case `${ERR}NoSuchDomain`:
      return say('That guest is no longer known to domud.');
    case `${ERR}NotRunning`:
      return say('That guest is not running.');
    case `${ERR}AlreadyRunning`:
      return say('That guest is running already.');
    case `${ERR}ToolstackFailed`:
      return say(withDetail(`The Xen toolstack failed to ${doing}:`, d));
    case `${ERR}Timeout`:
      return say(`Gave up waiting to ${doing}: it took too long.`);
    case `${ERR}NetworkFailed`:
      return say(withDetail(`Could not install the guest's route:`, d));
    case `${ERR}NoSuchImage`:
      return say('That image is no longer known to domud.', 'image');
    case `${ERR}ImageBusy`:
      return say('That image is still being built or copied; try again when it is ready.', 'image');
    case `${ERR}ImageFailed`:
      return say(withDetail('That image’s build failed:', d.split('\n')[0] ?? ''), 'image');
    case `${ERR}ImageExists`:
      return say('An image with that name exists already.', 'name');
    case `${ERR}Cancelled`:
      return say(`Cancelled: did not ${doing}.`);
    case `${ERR}NoSpace`:
      return say(withDetail(`No space left to ${doing}:`, d));
    case `${ERR}ShuttingDown`:
      return say('domud is shutting down; try again once it is back.');
    case 'org.freedesktop.DBus.Error.ServiceUnknown':
    case 'org.freedesktop.DBus.Error.NameHasNoOwner':
    case 'org.freedesktop.DBus.Error.Spawn.ChildExited':
      return say('domud is not running and could not be started.');
    case 'org.freedesktop.DBus.Error.NoReply':
    case 'org.freedesktop.DBus.Error.Timeout':
      return say(`domud did not answer in time; it may still ${doing}.`);
    default:
      return say(withDetail(`Could not ${doing}:`, d));
  }
}
