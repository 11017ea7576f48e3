// What src/host takes in and hands back. The daemon fills the inputs from
// src/xm and src/net; src/host never imports them (layers point one way), so
// these are plain data shapes that the daemon's values fit structurally.

export type CheckStatus = 'ok' | 'warning' | 'error';

/** One verdict. `id` is stable; a non-ok `message` always says what to fix. */
export interface Check {
  readonly id: CheckId;
  readonly status: CheckStatus;
  readonly message: string;
}

export type CheckId =
  | 'hypervisor'
  | 'toolstack'
  | 'xen-boot-files'
  | 'xen-kernels'
  | 'boot-entries'
  | 'tls-libc'
  | 'range'
  | 'forwarding'
  | 'xend-network-script'
  | 'vif-route';

/** What the daemon learnt by running the toolstack (`xl info`/`xm info`); null when none was found. */
export interface ToolstackProbe {
  readonly kind: 'xm' | 'xl';
  readonly answering: boolean;
  /** Why it did not answer (first line of the error). */
  readonly error?: string | undefined;
}

/** A host address or route that overlaps the domU range (src/net's Overlap fits this). */
export interface Overlap {
  readonly kind: 'address' | 'route';
  /** Interface it is on; null when it has none (blackhole, unreachable). */
  readonly dev: string | null;
  /** CIDR, e.g. "172.20.0.1/16". */
  readonly prefix: string;
}

export interface HostCheckOptions {
  /** The file system to judge: "/" in production, a fixture tree in tests. */
  readonly root: string;
  /** The domU range, IPv4 CIDR. */
  readonly range: string;
  /** Probe result; undefined = not probed (look for the programs under root), null = none found. */
  readonly toolstack?: ToolstackProbe | null | undefined;
  /** ip_forward as the daemon read it; undefined = read <root>/proc/sys/net/ipv4/ip_forward. */
  readonly forwarding?: boolean | undefined;
  /** Overlaps as src/net found them; undefined = read <root>/proc/net/route. */
  readonly overlaps?: readonly Overlap[] | undefined;
  /** Userland architecture (dpkg or uname name); undefined = read <root>/var/lib/dpkg/arch, or uname when root is "/". */
  readonly arch?: string | undefined;
}
