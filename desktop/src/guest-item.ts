// One guest as the list shows it: a GObject whose properties follow the
// domain object's D-Bus properties, so that rows bind to them and redraw
// when PropertiesChanged says they changed.
import GObject from 'gi://GObject';
import Gio from 'gi://Gio';

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

// D-Bus property -> item property.
const FROM_BUS: ReadonlyArray<readonly [string, keyof GuestFields, string]> = [
  ['Name', 'name', 'name'],
  ['State', 'state', 'state'],
  ['Address', 'address', 'address'],
  ['MacAddress', 'mac', 'mac'],
  ['Vif', 'vif', 'vif'],
  ['DomainId', 'domainId', 'domain-id'],
  ['MemoryMiB', 'memoryMiB', 'memory-mib'],
  ['VCpus', 'vcpus', 'vcpus'],
  ['CreatedAt', 'createdAt', 'created-at'],
];

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

  declare private f: GuestFields;
  declare readonly path: string;

  constructor(path: string) {
    super();
    (this as { path: string }).path = path;
    this.f = { name: '', state: '', address: '', mac: '', vif: '', domainId: -1, memoryMiB: 0, vcpus: 0, createdAt: 0 };
  }

  get name(): string {
    return this.f.name;
  }
  get state(): string {
    return this.f.state;
  }
  get address(): string {
    return this.f.address;
  }
  get mac(): string {
    return this.f.mac;
  }
  get vif(): string {
    return this.f.vif;
  }
  get domain_id(): number {
    return this.f.domainId;
  }
  get memory_mib(): number {
    return this.f.memoryMiB;
  }
  get vcpus(): number {
    return this.f.vcpus;
  }
  get created_at(): number {
    return this.f.createdAt;
  }

  /**
   * Copies the proxy's cached properties; notifies only what changed, and
   * nothing while the item is new (no row is bound to it yet).
   */
  update(p: Gio.DBusProxy, fresh = false): void {
    for (const [bus, field, prop] of FROM_BUS) {
      const v = p.get_cached_property(bus)?.unpack() as string | number | bigint | undefined;
      if (v === undefined) continue;
      const value = typeof v === 'bigint' ? Number(v) : v;
      if (this.f[field] !== value) {
        (this.f as unknown as Record<string, unknown>)[field] = value;
        if (!fresh) this.notify(prop);
      }
    }
  }

  /** What the list and the details show of the state. */
  get running(): boolean {
    return ['running', 'blocked', 'paused'].includes(this.f.state);
  }
}
