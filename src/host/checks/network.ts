// The network facts the plan cares about: the range must not clash with the
// host's own addresses or routes; forwarding stays off (domud never writes
// it, and xend's network-route would turn it on); vif-route is Xen's own
// route script, which domud does not need but which guest configs may name.

import type { Root } from '../fsroot.js';
import type { Check, Overlap } from '../types.js';
import { error, list, ok, warning } from './verdict.js';

interface Net {
  readonly base: number; // unsigned 32-bit
  readonly prefix: number;
}

function parseIPv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return parts.reduce((a, p) => a * 256 + p, 0);
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function parseCidr(cidr: string): Net | null {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  const addr = m ? parseIPv4(m[1]!) : null;
  const prefix = m ? Number(m[2]) : 33;
  if (addr === null || prefix > 32) return null;
  return { base: (addr & mask(prefix)) >>> 0, prefix };
}

function overlap(a: Net, b: Net): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

const RTF_UP = 0x1;

/** Routes from <root>/proc/net/route (little-endian hex) that overlap the range, vifs left out. */
export function routesOverlapping(procNetRoute: string, range: Net): Overlap[] {
  const found: Overlap[] = [];
  for (const line of procNetRoute.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [dev, dest, , flags, , , , maskHex] = f as [string, string, string, string, string, string, string, string];
    if (/^vif\d/.test(dev) || (parseInt(flags, 16) & RTF_UP) === 0) continue;
    const base = Buffer.from(dest, 'hex').readUInt32LE(0);
    const prefix = Buffer.from(maskHex, 'hex').readUInt32LE(0).toString(2).replace(/0/g, '').length;
    if (prefix === 0 || !overlap(range, { base, prefix })) continue; // the default route covers everything
    const ip = [base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.');
    found.push({ kind: 'route', dev: dev === '*' ? null : dev, prefix: `${ip}/${prefix}` });
  }
  return found;
}

const CHANGE_RANGE = 'pick another range (Range= in [Network] of /etc/domud/domud.conf) or move the clashing network (for Docker, default-address-pools in /etc/docker/daemon.json)';

export async function checkRange(root: Root, range: string, given: readonly Overlap[] | undefined): Promise<Check> {
  const net = parseCidr(range);
  if (net === null) return error('range', `range ${JSON.stringify(range)} is not an IPv4 CIDR: set Range= in [Network] of /etc/domud/domud.conf, e.g. 172.20.216.0/24`);
  let overlaps = given;
  if (overlaps === undefined) {
    const table = await root.text('proc/net/route');
    if (table === null) return warning('range', `could not read the host's routes to compare with ${range}: check \`ip -4 route\` and \`ip -4 addr\` for anything inside it`);
    overlaps = routesOverlapping(table, net);
  }
  if (overlaps.length === 0) return ok('range', `${range} clashes with no host address or route`);
  const what = overlaps.map((o) => `${o.kind} ${o.prefix}${o.dev ? ` on ${o.dev}` : ''}`);
  return error('range', `${range} overlaps the host's ${list(what)}: guests there would be unreachable or hijack that network; ${CHANGE_RANGE}`);
}

/** sysctl files that switch forwarding on, so the message can say where. */
async function forwardingSetBy(root: Root): Promise<string[]> {
  const files = ['etc/sysctl.conf', ...(await root.list('etc/sysctl.d')).filter((n) => n.endsWith('.conf')).map((n) => `etc/sysctl.d/${n}`)];
  const setters: string[] = [];
  for (const rel of files) {
    if (/^\s*net[./]ipv4[./]ip_forward\s*=\s*1\s*$/m.test((await root.text(rel)) ?? '')) setters.push(`/${rel}`);
  }
  return setters;
}

export async function checkForwarding(root: Root, given: boolean | undefined): Promise<Check> {
  let on = given;
  if (on === undefined) {
    const v = (await root.text('proc/sys/net/ipv4/ip_forward'))?.trim();
    if (v === undefined) return warning('forwarding', 'could not read /proc/sys/net/ipv4/ip_forward: check it with `sysctl net.ipv4.ip_forward` (the plan wants 0)');
    on = v !== '0';
  }
  if (!on) return ok('forwarding', 'IP forwarding is off: guests reach dom0 and nothing beyond');
  const setters = await forwardingSetBy(root);
  const where = setters.length > 0 ? ` and remove net.ipv4.ip_forward=1 from ${list(setters)}` : ' and find what turns it on (sysctl.d, xend\'s network-route, Docker)';
  return warning('forwarding', `IP forwarding is on, so guests can reach past dom0; domud never turns it on: if guests should reach dom0 only, run sysctl -w net.ipv4.ip_forward=0${where}`);
}

const NETWORK_ROUTE = /^[^#\n]*\(\s*network-script\s+['"]?network-route\b/m;

export async function checkXendNetworkScript(root: Root): Promise<Check> {
  const cfg = await root.text('etc/xen/xend-config.sxp');
  if (cfg === null) return ok('xend-network-script', 'no /etc/xen/xend-config.sxp: xend cannot run network-route');
  const m = NETWORK_ROUTE.exec(cfg);
  if (m === null) return ok('xend-network-script', '/etc/xen/xend-config.sxp does not run network-route');
  const line = cfg.slice(0, m.index).split('\n').length;
  return error(
    'xend-network-script',
    `/etc/xen/xend-config.sxp line ${line} runs network-route, which turns IP forwarding on when xend starts: comment out that (network-script network-route) line (domud routes guests itself without forwarding) and restart xend`,
  );
}

export async function checkVifRoute(root: Root): Promise<Check> {
  if (await root.isFile('etc/xen/scripts/vif-route')) return ok('vif-route', 'Xen\'s vif-route script is installed (/etc/xen/scripts/vif-route)');
  return warning(
    'vif-route',
    'no /etc/xen/scripts/vif-route: domud installs guest routes itself, but its guest configs name script=vif-route and the toolstack cannot start a vif whose script is missing: install xen-utils-common',
  );
}
