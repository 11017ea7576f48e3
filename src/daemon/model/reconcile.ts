// The reconcile loop: what the toolstack lists becomes what the records say
// (guests that stopped or started behind domud's back), and the routes
// follow the records (ModelState.reconcileRoutes). A round never touches a
// domain that a call holds, nor one a call has changed since the round read
// the toolstack.
import type { Lifecycle } from './lifecycle.js';
import { settlePending } from './recovery.js';
import { type ModelState, seen } from './state.js';

/** One round: the toolstack's view, then the routes. */
export async function reconcile(s: ModelState, lifecycle: Lifecycle): Promise<void> {
  const before = new Map([...s.records.values()].map((r) => [r.name, r.generation]));
  const running = await s.deps.toolstack.list();
  const byName = new Map(running.map((d) => [d.name, d]));
  await settlePending(s, lifecycle, byName);
  // A guest that runs without a record here was started behind domud's
  // back (or by a dead daemon's last call): read its lease to adopt it.
  // A call that began during the list has made a record of its own.
  for (const info of running) {
    if (info.id === null || s.records.has(info.name) || s.locks.isBusy(info.name)) continue;
    const rec = s.record(info.name);
    if (rec) before.set(rec.name, rec.generation);
  }
  let dropped = 0;
  for (const rec of s.records.values()) {
    if (rec.phase !== 'ready' || s.locks.isBusy(rec.name) || before.get(rec.name) !== rec.generation) continue;
    const info = byName.get(rec.name);
    const listedId = info && info.id !== null ? info.id : -1;
    const now = seen(rec, listedId, info?.state ?? 'stopped');
    if (now.domainId !== rec.domainId || now.state !== rec.state) {
      if (now.domainId < 0) s.log.info({ domain: rec.name }, 'domain stopped behind domud\'s back');
      else if (rec.domainId < 0) s.log.info({ domain: rec.name, domid: now.domainId }, 'domain started behind domud\'s back');
      s.update(rec, now);
    }
    // A domain the toolstack no longer lists needs no record: its lease says
    // all there is. So memory follows the guests that run, not every domain
    // a call has touched since start-up. One still listed as it stops keeps
    // its record, which knows that listing for what it is.
    if (listedId < 0) {
      s.records.delete(rec.name);
      dropped++;
    }
  }
  if (dropped > 0) s.log.debug({ dropped, held: s.records.size }, 'records of stopped domains dropped');
  await s.reconcileRoutes();
}
