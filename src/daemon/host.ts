// CheckHost: gathers what only the daemon can know (is the toolstack
// answering, what do the routes look like) and hands it to src/host, which
// judges the host from its files.
import type { Routes } from '../net/index.js';
import type { Toolstack } from '../xm/index.js';
import type { Check } from '../host/index.js';

export interface HostInputs {
  readonly toolstack: Toolstack;
  readonly routes: Routes;
  readonly range: string;
  readonly root?: string;
}

export async function hostChecks(i: HostInputs): Promise<Check[]> {
  // Loaded on first use: most daemons never run CheckHost after install.
  const { checkHost } = await import('../host/index.js');
  const [info, forwarding, overlaps] = await Promise.allSettled([i.toolstack.info(), i.routes.forwarding(), i.routes.overlaps()]);
  return checkHost({
    root: i.root ?? '/',
    range: i.range,
    toolstack:
      'unavailable' in i.toolstack
        ? null
        : { kind: i.toolstack.kind, answering: info.status === 'fulfilled', error: info.status === 'rejected' ? String((info.reason as Error).message) : undefined },
    forwarding: forwarding.status === 'fulfilled' ? forwarding.value : undefined,
    overlaps: overlaps.status === 'fulfilled' ? overlaps.value : undefined,
  });
}
