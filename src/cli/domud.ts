// org.domud.Domud1 as domuctl uses it: typed calls over the small Bus.
import { type Bus, unwrap } from './bus.js';

export const MANAGER_PATH = '/org/domud/Domud1';
export const MANAGER = 'org.domud.Domud1.Manager';
export const DOMAIN = 'org.domud.Domud1.Domain';
const PROPS = 'org.freedesktop.DBus.Properties';

/** Reads answer fast or not at all (sd-bus's default). */
const READ_MS = 25_000;
/** Changes may wait for polkit's password dialog and the toolstack. */
export const CHANGE_MS = 5 * 60_000;

export interface DomainRow {
  name: string;
  id: number;
  state: string;
  address: string;
  path: string;
}
export interface Lease {
  address: string;
  name: string;
  mac: string;
  acquiredAt: number;
}
export interface Check {
  id: string;
  status: string;
  message: string;
}
export interface DomainInfo {
  name: string;
  id: number;
  state: string;
  address: string;
  mac: string;
  vif: string;
  memoryMiB: number;
  vcpus: number;
  createdAt: number;
  path: string;
}
export interface ManagerInfo {
  network: string;
  dom0Address: string;
  toolstack: string;
  forwardingEnabled: boolean;
  leasesInUse: number;
  leasesTotal: number;
  version: string;
}

export class Domud {
  constructor(
    readonly bus: Bus,
    /** Let polkit ask for a password on changes (stdin is a terminal). */
    private readonly interactive: boolean,
  ) {}

  private read(member: string, signature = '', body: unknown[] = []): Promise<unknown[]> {
    return this.bus.call({ path: MANAGER_PATH, iface: MANAGER, member, signature, body, timeoutMs: READ_MS });
  }

  private change(member: string, signature: string, body: unknown[], timeoutMs = CHANGE_MS): Promise<unknown[]> {
    return this.bus.call({ path: MANAGER_PATH, iface: MANAGER, member, signature, body, timeoutMs, interactive: this.interactive });
  }

  async listDomains(): Promise<DomainRow[]> {
    const [rows] = (await this.read('ListDomains')) as [[string, number, string, string, string][]];
    return rows.map(([name, id, state, address, path]) => ({ name, id, state, address, path }));
  }

  async listLeases(): Promise<Lease[]> {
    const [rows] = (await this.read('ListLeases')) as [[string, string, string, bigint][]];
    return rows.map(([address, name, mac, at]) => ({ address, name, mac, acquiredAt: Number(at) }));
  }

  async checkHost(): Promise<Check[]> {
    const [rows] = (await this.read('CheckHost')) as [[string, string, string][]];
    return rows.map(([id, status, message]) => ({ id, status, message }));
  }

  async getDomain(name: string): Promise<string> {
    return (await this.read('GetDomain', 's', [name]))[0] as string;
  }

  async domain(path: string): Promise<DomainInfo> {
    const p = await this.getAll(path, DOMAIN);
    return {
      name: p.Name as string,
      id: p.DomainId as number,
      state: p.State as string,
      address: p.Address as string,
      mac: p.MacAddress as string,
      vif: p.Vif as string,
      memoryMiB: p.MemoryMiB as number,
      vcpus: p.VCpus as number,
      createdAt: p.CreatedAt as number,
      path,
    };
  }

  async manager(): Promise<ManagerInfo> {
    const p = await this.getAll(MANAGER_PATH, MANAGER);
    return {
      network: p.Network as string,
      dom0Address: p.Dom0Address as string,
      toolstack: p.Toolstack as string,
      forwardingEnabled: p.ForwardingEnabled as boolean,
      leasesInUse: p.LeasesInUse as number,
      leasesTotal: p.LeasesTotal as number,
      version: p.Version as string,
    };
  }

  private async getAll(path: string, iface: string): Promise<Record<string, unknown>> {
    const [dict] = await this.bus.call({ path, iface: PROPS, member: 'GetAll', signature: 's', body: [iface], timeoutMs: READ_MS });
    return unwrap(dict);
  }

  /** Options typed as the contract says: numbers are 'u', disks 'as', the rest 's'. */
  async create(name: string, options: Record<string, number | string | string[]>): Promise<string> {
    const V = this.bus.Variant;
    const dict: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options)) dict[k] = new V(typeof v === 'number' ? 'u' : Array.isArray(v) ? 'as' : 's', v);
    return (await this.change('CreateDomain', 'sa{sv}', [name, dict]))[0] as string;
  }

  async start(name: string): Promise<void> {
    await this.change('StartDomain', 's', [name]);
  }

  async shutdown(name: string, wait: boolean, timeoutSec: number | undefined): Promise<void> {
    const V = this.bus.Variant;
    const opts: Record<string, unknown> = {};
    if (wait) opts.wait = new V('b', true);
    if (timeoutSec !== undefined) opts.timeout = new V('u', timeoutSec);
    // With a bound on the wait, the daemon answers within it; leave room for polkit.
    await this.change('ShutdownDomain', 'sa{sv}', [name, opts], timeoutSec !== undefined ? timeoutSec * 1000 + CHANGE_MS : CHANGE_MS * 2);
  }

  async destroy(name: string): Promise<void> {
    await this.change('DestroyDomain', 's', [name]);
  }
}
