// How a boot learns the id Xen gave the guest it has just made, without a
// second toolstack run where the host allows. xl (and xend, for xm) runs the
// vif hotplug before `create` returns, so the guest's vif<id>.0 exists by
// then: if this boot was the only one in flight from before its create until
// now, and exactly one vif<N>.0 appeared meanwhile, N is the id. Otherwise
// (boots side by side, no vif or more than one new, `ip` failing) the
// toolstack's `domid` says, as it always did. The vifs before are read while
// the create starts, not before it: one that made its vif before that read
// ended shows no new vif, and the toolstack is asked. A guest started behind
// domud's back in that same window, while ours showed no vif, is the one way
// to guess wrong; the next reconcile round, which reads ids by name,
// corrects it.
// src/net tells which vifs exist and src/xm knows the toolstack: this module
// is where the model puts the two together.
import type { Toolstack } from '../../xm/index.js';
import type { RouteTable } from './state.js';

const FIRST_VIF = /^vif(\d{1,9})\.0$/;

export type IdSource = 'vif' | 'toolstack';

export interface IdWatch {
  /** The id of the guest named `name`, made since open(); `time` wraps the toolstack's run, if one is needed. */
  idOf(name: string, time?: <T>(call: () => Promise<T>) => Promise<T>): Promise<{ id: number; via: IdSource }>;
  /** Ends the watch (in a finally: a boot that failed ends it too). */
  close(): void;
}

export class GuestIds {
  private inFlight = 0;
  private begun = 0;

  constructor(
    private readonly routes: Pick<RouteTable, 'vifs'>,
    private readonly toolstack: Pick<Toolstack, 'domid'>,
  ) {}

  /** Starts watching for one boot's guest, just before its create. */
  open(): IdWatch {
    const seq = ++this.begun;
    this.inFlight++;
    let closed = false;
    const alone = () => this.begun === seq && this.inFlight === 1;
    // A failed read costs only the fast path.
    const reading = alone() ? this.vifIds().catch(() => undefined) : Promise.resolve(undefined);
    return {
      idOf: async (name, time = (call) => call()) => {
        const before = await reading;
        if (before !== undefined && alone()) {
          const now = await this.vifIds().catch(() => undefined);
          const added = now === undefined ? [] : [...now].filter((id) => !before.has(id));
          if (added.length === 1 && alone()) return { id: added[0]!, via: 'vif' };
        }
        return { id: await time(() => this.toolstack.domid(name)), via: 'toolstack' };
      },
      close: () => {
        if (!closed) this.inFlight--;
        closed = true;
      },
    };
  }

  private async vifIds(): Promise<Set<number>> {
    const ids = new Set<number>();
    for (const vif of await this.routes.vifs()) {
      const m = FIRST_VIF.exec(vif);
      if (m) ids.add(Number(m[1]));
    }
    return ids;
  }
}
