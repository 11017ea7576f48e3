// What domud knows about one domain. The lease row in the allocator is the
// durable record (address, MAC, time, and these settings as its attrs); the
// run-time part (id, state, vif) is what the toolstack last said.
import type { XenState } from '../../xm/index.js';

export type DomainState = XenState | 'stopped';

export interface DomainSettings {
  readonly memory: number; // MiB
  readonly vcpus: number;
  readonly kernel: string;
  readonly ramdisk: string; // '' for none
  readonly extra: string;
  readonly root: string; // '' for none
  readonly disks: readonly string[];
  /** the image its disk was copied from; set, the guest boots its own copy with pygrub (kernel, ramdisk and root are '') */
  readonly image?: string | undefined;
}

/**
 * `creating` and `destroying` mark a lifecycle call in progress, written
 * durably before its first side effect, so that a daemon restarted after a
 * crash finishes (or rolls back) what the dead one had begun.
 */
export type Phase = 'creating' | 'ready' | 'destroying';

export interface StoredAttrs {
  readonly v: 1;
  readonly phase: Phase;
  readonly settings: DomainSettings;
}

/** The attrs key the allocator indexes, so that start-up finds calls left half done without reading every lease. */
export const PHASE_KEY = 'phase' satisfies keyof StoredAttrs;

export interface Domain {
  readonly name: string;
  readonly address: string;
  readonly mac: string;
  readonly createdAt: number; // µs since the epoch
  readonly settings: DomainSettings;
  readonly domainId: number; // -1 when not running
  readonly state: DomainState;
  readonly vif: string; // '' when not running
}

/** The properties that change while a domain lives (and emit PropertiesChanged). */
export type RuntimeChange = { -readonly [K in 'domainId' | 'state' | 'vif']?: Domain[K] };

export function vifOf(domainId: number): string {
  return domainId >= 0 ? `vif${domainId}.0` : '';
}

export function encodeAttrs(a: StoredAttrs): string {
  return JSON.stringify(a);
}

export function decodeAttrs(text: string): StoredAttrs | null {
  try {
    const a = JSON.parse(text) as StoredAttrs;
    return a && a.v === 1 && a.settings ? a : null;
  } catch {
    return null;
  }
}
