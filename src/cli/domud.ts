// org.domud.Domud1 as domuctl uses it: typed calls over the small Bus.
import { type Bus, unwrap } from './bus.js';

export const MANAGER_PATH = '/org/domud/Domud1';
export const MANAGER = 'org.domud.Domud1.Manager';
export const DOMAIN = 'org.domud.Domud1.Domain';
export const IMAGE = 'org.domud.Domud1.Image';
export const JOB = 'org.domud.Domud1.Job';
export const JOB_PREFIX = `${MANAGER_PATH}/job`;
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
export interface ImageInfo {
  name: string;
  suite: string;
  state: string;
  /** bytes */
  size: number;
  createdAt: number;
  /** the image file; ListImages does not say it */
  file?: string;
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

export type Options = Record<string, number | bigint | string | string[]>;

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

  /** Options typed as the contract says: numbers are 'u', sizes (bigints) 't', lists 'as', the rest 's'. */
  private options(options: Options): Record<string, unknown> {
    const V = this.bus.Variant;
    const dict: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options)) dict[k] = new V(typeof v === 'number' ? 'u' : typeof v === 'bigint' ? 't' : Array.isArray(v) ? 'as' : 's', v);
    return dict;
  }

  async create(name: string, options: Options): Promise<string> {
    return (await this.change('CreateDomain', 'sa{sv}', [name, this.options(options)]))[0] as string;
  }

  async listImages(): Promise<ImageInfo[]> {
    const [rows] = (await this.read('ListImages')) as [[string, string, string, bigint, bigint, string][]];
    return rows.map(([name, suite, state, size, at, path]) => ({ name, suite, state, size: Number(size), createdAt: Number(at), path }));
  }

  async getImage(name: string): Promise<string> {
    return (await this.read('GetImage', 's', [name]))[0] as string;
  }

  async image(path: string): Promise<ImageInfo> {
    const p = await this.getAll(path, IMAGE);
    return { name: p.Name as string, suite: p.Suite as string, state: p.State as string, size: p.Size as number, createdAt: p.CreatedAt as number, file: p.Path as string, path };
  }

  /** Starts a build; the job's path. */
  async createImage(name: string, options: Options): Promise<string> {
    return (await this.change('CreateImage', 'sa{sv}', [name, this.options(options)]))[0] as string;
  }

  async removeImage(name: string): Promise<void> {
    await this.change('RemoveImage', 's', [name]);
  }

  /** A job's Progress, or null while it is not known (ProgressValid false); null too once the job is gone. */
  async jobProgress(job: string): Promise<number | null> {
    try {
      const p = await this.getAll(job, JOB);
      return p.ProgressValid ? (p.Progress as number) : null;
    } catch {
      return null;
    }
  }

  async cancelJob(job: string): Promise<void> {
    await this.bus.call({ path: job, iface: JOB, member: 'Cancel', timeoutMs: CHANGE_MS, interactive: this.interactive });
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
