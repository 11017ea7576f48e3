// The toolstack's view of a domain and the one interface both drivers offer.

/** The API's names for the xm/xl state flags (see list.ts for the precedence). */
export type XenState = 'running' | 'blocked' | 'paused' | 'shutdown' | 'crashed' | 'dying';

export type ToolstackKind = 'xm' | 'xl';

export interface DomainInfo {
  name: string;
  /** null for an inactive (managed, xm 3.2+) domain that has no id */
  id: number | null;
  /** MiB: xm shows the configured memory, xl the current */
  memory: number;
  vcpus: number;
  state: XenState;
  /** the six state letters as printed, e.g. `-b----` */
  flags: string;
  /** seconds */
  cpuTime: number;
}

export interface ShutdownOptions {
  /** wait until the domain has gone (`shutdown -w`) */
  wait?: boolean;
  /** bound for this call, in ms; defaults to the toolstack's timeout */
  timeoutMs?: number;
}

export interface Toolstack {
  readonly kind: ToolstackKind;
  /** the absolute path that is run */
  readonly command: string;
  /** every domain, Domain-0 included */
  list(): Promise<DomainInfo[]>;
  info(): Promise<Record<string, string>>;
  /** `name`, when given, serializes the call with others for that domain */
  create(configPath: string, opts?: { name?: string }): Promise<void>;
  shutdown(name: string, opts?: ShutdownOptions): Promise<void>;
  /** a domain that is already gone counts as destroyed */
  destroy(name: string): Promise<void>;
  domid(name: string): Promise<number>;
}
