// The model's reads: ListDomains, GetDomain and the like. None waits for the
// toolstack or takes a lock; each answers from the records and the leases.
// A lease without a record is a ready, stopped domain: start-up gives every
// other phase a record, and calls change phases through one.
import type { Lease } from '../../ipam/index.js';
import { type Domain, type StoredAttrs, decodeAttrs } from './domain.js';
import { NoSuchDomainError } from './errors.js';
import { type ModelState, view } from './state.js';

/** What ListDomains needs of a domain: no settings, so none are decoded. */
export type DomainSummary = Pick<Domain, 'name' | 'address' | 'domainId' | 'state'>;

/** Every domain, in address order. */
export function list(s: ModelState): Domain[] {
  // Domains created with the same options store the same attrs: decode
  // each text once and share the (read-only) result.
  const decoded = new Map<string, StoredAttrs | null>();
  const out: Domain[] = [];
  for (const lease of s.deps.allocator.list()) {
    let r = s.records.get(lease.name);
    if (!r) {
      let attrs = decoded.get(lease.attrs);
      if (attrs === undefined) decoded.set(lease.attrs, (attrs = decodeAttrs(lease.attrs)));
      r = s.fromLease(lease, attrs);
    }
    if (r.phase === 'ready') out.push(view(r));
  }
  return out;
}

/** list() without the settings, which are neither read nor decoded. */
export function summaries(s: ModelState): DomainSummary[] {
  const out: DomainSummary[] = [];
  for (const { address, name } of s.deps.allocator.holders()) {
    const r = s.records.get(name);
    if (!r) out.push({ name, address, domainId: -1, state: 'stopped' });
    else if (r.phase === 'ready') out.push({ name, address, domainId: r.domainId, state: r.state });
  }
  return out;
}

/** How many domains list() would give, without building them. */
export function count(s: ModelState): number {
  let busy = 0;
  for (const r of s.records.values()) if (r.phase !== 'ready') busy++;
  return s.deps.allocator.inUse() - busy;
}

export function find(s: ModelState, name: string): Domain | undefined {
  // A read keeps nothing in memory: the lease is read again next time.
  const r = s.read(name);
  return r && r.phase === 'ready' ? view(r) : undefined;
}

/** Throws NoSuchDomainError unless `name` is a domain, without reading a stopped domain's lease. */
export function assertKnown(s: ModelState, name: string): void {
  const r = s.records.get(name);
  if (r ? r.phase !== 'ready' : !s.deps.allocator.has(name)) throw new NoSuchDomainError(name);
}

export function leases(s: ModelState): Lease[] {
  return s.deps.allocator.list();
}
