// The kernel's files that src/net uses directly: the two /proc/sys files it
// touches, and /sys/class/net for the names of the devices. Reading
// ip_forward and writing a vif's proxy_arp are the only /proc/sys
// operations, on purpose: there is no generic "write a sysctl" here, so no
// code path can turn forwarding on.
//
// /proc/sys/net shows the network namespace of the process that opens it,
// and /sys/class/net the one that mounted /sys, so in netns mode the work is
// done by a process started inside the namespace (`ip netns exec <ns>
// cat|tee <path>`, or `ip -n <ns> link show`; argv only); without a netns the
// daemon already runs in the right namespace and uses the files.
import { writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { IpCommandError, SysctlError, VifNotFoundError } from './errors.js';
import { run, type Ip } from './ip.js';
import { parseLinks } from './kernel.js';

export const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const DEVICES = '/sys/class/net';

export function proxyArpPath(vif: string): string {
  return `/proc/sys/net/ipv4/conf/${vif}/proxy_arp`;
}

export interface Sysctl {
  /** The content of ip_forward, e.g. "0". */
  readIpForward(): Promise<string>;
  /** proxy_arp=1 on one interface; VifNotFoundError if it does not exist. */
  enableProxyArp(vif: string): Promise<void>;
  /** The names of the network devices there are now. */
  devices(): Promise<string[]>;
}

export function hostSysctl(): Sysctl {
  return {
    async readIpForward() {
      try {
        return await readFile(IP_FORWARD, 'utf8');
        /* c8 ignore start -- /proc is always there on Linux */
      } catch (e) {
        throw new SysctlError(IP_FORWARD, { cause: e });
      }
      /* c8 ignore stop */
    },
    async enableProxyArp(vif) {
      const path = proxyArpPath(vif);
      try {
        // Synchronous on purpose: a /proc/sys write is a few µs in the kernel
        // and never waits on a disk, while the thread pool took three round
        // trips (open, write, close), the slowest step of bringing a vif up.
        writeFileSync(path, '1\n');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new VifNotFoundError(vif, { cause: e });
        /* c8 ignore next 2 -- EACCES/EROFS: not root, or /proc/sys read-only; the daemon runs as root */
        throw new SysctlError(path, { cause: e });
      }
    },
    async devices() {
      try {
        return await readdir(DEVICES);
        /* c8 ignore start -- sysfs is always there on Linux */
      } catch (e) {
        throw new SysctlError(DEVICES, { cause: e });
      }
      /* c8 ignore stop */
    },
  };
}

export function netnsSysctl(ip: Ip, netns: string): Sysctl {
  const inside = (argv: string[]) => [ip.command, 'netns', 'exec', netns, ...argv];
  return {
    readIpForward() {
      return run(inside(['cat', IP_FORWARD]));
    },
    async enableProxyArp(vif) {
      const path = proxyArpPath(vif);
      try {
        await run(inside(['tee', path]), '1\n');
      } catch (e) {
        // tee's own message, not ip's "Cannot open network namespace ...: No such file or directory"
        if (e instanceof IpCommandError && e.stderr.includes(`tee: ${path}: No such file or directory`)) {
          throw new VifNotFoundError(vif, { cause: e });
        }
        throw e;
      }
    },
    async devices() {
      return [...parseLinks(await ip.json(['link', 'show']))].map(([name]) => name);
    },
  };
}
