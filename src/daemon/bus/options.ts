// a{sv} option dictionaries: every key known, every value of its D-Bus type,
// before the model sees plain values.
import type dbus from 'dbus-next';
import { InvalidArgumentError } from '../model/errors.js';

export type OptionTypes = Readonly<Record<string, string>>;

export const CREATE_OPTIONS: OptionTypes = {
  memory: 'u',
  vcpus: 'u',
  kernel: 's',
  ramdisk: 's',
  extra: 's',
  root: 's',
  disks: 'as',
  address: 's',
  mac: 's',
  image: 's',
  disk_size: 't',
  ssh_key: 's',
};

export const IMAGE_OPTIONS: OptionTypes = { suite: 's', mirror: 's', size: 't', packages: 'as' };

export const SHUTDOWN_OPTIONS: OptionTypes = { wait: 'b', timeout: 'u' };

export function readOptions(dict: Record<string, dbus.Variant>, types: OptionTypes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(dict)) {
    const want = types[key];
    if (want === undefined) {
      throw new InvalidArgumentError(`Unknown option ${JSON.stringify(key)}; known options: ${Object.keys(types).join(', ')}`);
    }
    if (v.signature !== want) throw new InvalidArgumentError(`Option "${key}" must be of D-Bus type ${want}, got ${v.signature}`);
    out[key] = v.value;
  }
  return out;
}
