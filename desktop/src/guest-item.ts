// One guest as the list shows it: a GObject whose properties follow the
// domain object's D-Bus properties, so that rows bind to them and redraw
// when PropertiesChanged says they changed.
import GObject from 'gi://GObject';
import type { PropertySource } from './objects.js';

const str = (name: string) => GObject.ParamSpec.string(name, '', '', GObject.ParamFlags.READABLE, '');
const int = (name: string, min: number) => GObject.ParamSpec.int64(name, '', '', GObject.ParamFlags.READABLE, min, Number.MAX_SAFE_INTEGER, min);

export interface GuestFields {
  name: string;
  state: string;
  address: string;
  mac: string;
  vif: string;
  domainId: number;
  memoryMiB: number;
  vcpus: number;
  /** Microseconds since the epoch. */
  createdAt: number;
}

// Item field -> D-Bus property, GObject property, and the value until domud says one.
const FIELDS: { readonly [K in keyof GuestFields]: readonly [string, string, GuestFields[K]] } = {
  name: ['Name', 'name', ''],
  state: ['State', 'state', ''],
  address: ['Address', 'address', ''],
  mac: ['MacAddress', 'mac', ''],
  vif: ['Vif', 'vif', ''],
  domainId: ['DomainId', 'domain-id', -1],
  memoryMiB: ['MemoryMiB', 'memory-mib', 0],
  vcpus: ['VCpus', 'vcpus', 0],
  createdAt: ['CreatedAt', 'created-at', 0],
};

const fromBus = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);

export class GuestItem extends GObject.Object {
  static {
    GObject.registerClass(
      {
        GTypeName: 'DomudGuestItem',
        Properties: {
          name: str('name'),
          state: str('state'),
          address: str('address'),
          mac: str('mac'),
          vif: str('vif'),
          'domain-id': int('domain-id', -1),
          'memory-mib': int('memory-mib', 0),
          vcpus: int('vcpus', 0),
          'created-at': int('created-at', 0),
        },
      },
      this,
    );
  }

  /** The fields read so far; the others are read from `source` when first asked for. */
  declare private f: Partial<GuestFields>;
  declare private source: PropertySource;
  declare readonly path: string;

  /** `source`: the domain object's properties, as the object mirror keeps them or as the first look has them. */
  constructor(path: string, source: PropertySource) {
    super();
    (this as { path: string }).path = path;
    this.source = source;
    this.f = {};
  }

  private field<K extends keyof GuestFields>(k: K): GuestFields[K] {
    if (!(k in this.f)) this.f[k] = (fromBus(this.source.get(FIELDS[k][0])) ?? FIELDS[k][2]) as GuestFields[K];
    return this.f[k]!;
  }

  get name(): string {
    return this.field('name');
  }
  get state(): string {
    return this.field('state');
  }
  get address(): string {
    return this.field('address');
  }
  get mac(): string {
    return this.field('mac');
  }
  get vif(): string {
    return this.field('vif');
  }
  get domain_id(): number {
    return this.field('domainId');
  }
  get memory_mib(): number {
    return this.field('memoryMiB');
  }
  get vcpus(): number {
    return this.field('vcpus');
  }
  get created_at(): number {
    return this.field('createdAt');
  }

  /**
   * The same domain from a fuller source (the objects after the first look,
   * or fetched again): fields are read from it from now on, and those
   * already read that differ there are notified.
   */
  rebase(source: PropertySource): void {
    const read = this.f;
    this.source = source;
    this.f = {};
    for (const k of Object.keys(read) as Array<keyof GuestFields>) if (this.field(k) !== read[k]) this.notify(FIELDS[k][1]);
  }

  /** From PropertiesChanged (`changed`: the values that changed): notifies only what did change. */
  update(changed: Readonly<Record<string, unknown>>): void {
    for (const k of Object.keys(FIELDS) as Array<keyof GuestFields>) {
      const [bus, prop] = FIELDS[k];
      const value = fromBus(changed[bus]);
      if (value === undefined || this.field(k) === value) continue;
      (this.f as Record<string, unknown>)[k] = value;
      this.notify(prop);
    }
  }

  /** What the list and the details show of the state. */
  get running(): boolean {
    return ['running', 'blocked', 'paused'].includes(this.state);
  }
}
