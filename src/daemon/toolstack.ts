// The toolstack domud uses when none could be found at start-up: every call
// fails with the reason, so reads, leases and CheckHost still work on a host
// that is not yet a dom0.
import type { Toolstack } from '../xm/index.js';

export function unavailableToolstack(reason: Error): Toolstack & { readonly unavailable: true } {
  const fail = () => Promise.reject(reason);
  return {
    kind: 'xl',
    command: '',
    list: fail,
    info: fail,
    create: fail,
    shutdown: fail,
    destroy: fail,
    domid: fail,
    unavailable: true,
  };
}
