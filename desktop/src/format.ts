// How values read in the window.
import GLib from 'gi://GLib';

export const mib = (n: number): string => `${n} MiB`;
export const vcpus = (n: number): string => (n === 1 ? '1 vCPU' : `${n} vCPUs`);

/** Microseconds since the epoch, as local date and time. */
export function when(us: number): string {
  if (!us) return '—';
  const t = GLib.DateTime.new_from_unix_local(Math.floor(us / 1_000_000));
  return t?.format('%Y-%m-%d %H:%M:%S') ?? String(us);
}

export const orDash = (s: string): string => (s === '' ? '—' : s);
