// How values read in the window.
import GLib from 'gi://GLib';

// 0 memory or vCPUs: not known yet (the window's first look has neither).
export const mib = (n: number): string => (n > 0 ? `${n} MiB` : '');
export const vcpus = (n: number): string => (n > 0 ? (n === 1 ? '1 vCPU' : `${n} vCPUs`) : '');

/** Microseconds since the epoch, as local date and time. */
export function when(us: number): string {
  if (!us) return '—';
  const t = GLib.DateTime.new_from_unix_local(Math.floor(us / 1_000_000));
  return t?.format('%Y-%m-%d %H:%M:%S') ?? String(us);
}

export const orDash = (s: string): string => (s === '' ? '—' : s);

const UNITS = ['K', 'M', 'G', 'T'] as const;

/**
 * A size as people write it: bytes, or a number with K, M, G or T (powers of
 * 1024, with or without "iB"/"B"), e.g. "8G", "512 MiB", "1.5G". Null when it
 * is none of these; the daemon checks the rest (at least the image's size).
 */
export function parseSize(text: string): number | null {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(?:([KMGT])(?:i?B)?|B)?$/i.exec(text.trim());
  if (!m) return null;
  const unit = m[2] ? UNITS.indexOf(m[2].toUpperCase() as (typeof UNITS)[number]) + 1 : 0;
  const n = Math.round(Number(m[1]) * 1024 ** unit);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** Bytes in the largest power of 1024 that keeps the number at 1 or more: "4 GiB", "64 MiB". */
export function bytes(n: number): string {
  let i = 0;
  while (i < UNITS.length && n >= 1024 ** (i + 1)) i++;
  if (i === 0) return `${n} B`;
  const v = n / 1024 ** i;
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${UNITS[i - 1]}iB`;
}
