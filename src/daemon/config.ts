// The daemon's configuration: the INI file of the contract, validated by a
// valibot schema. Every key has a default, so a missing default file means "all
// defaults"; a missing named file, an unknown section or key, or a bad value
// is a ConfigError that names the file, line and key.
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import * as v from 'valibot';
// pool.js, not the index: the allocator (and SQLite) are not needed to read a configuration.
import { Pool } from '../ipam/pool.js';
import { IniSyntaxError, parseIni } from './ini.js';

export const DEFAULT_CONFIG_PATH = '/etc/domud/domud.conf';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A key's schema: the INI value (a string) in, the typed value out. */
type Value = v.GenericSchema<string, unknown>;

const oneOf = <const T extends readonly string[]>(options: T) => v.picklist(options, `must be one of ${options.join(', ')}`);
const absolutePath = v.pipe(v.string(), v.check(isAbsolute, 'must be an absolute path'));
const optionalPath = v.pipe(v.string(), v.check((s) => s === '' || isAbsolute(s), 'must be empty or an absolute path'));
// The digits-only regex makes the number a non-negative integer (or
// Infinity, which maxValue refuses); a value that fails it is not converted.
const count = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^[0-9]+$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
const bool = v.pipe(
  v.string(),
  v.transform((s) => s.toLowerCase()),
  oneOf(['yes', 'no', 'true', 'false', 'on', 'off', '1', '0']),
  v.transform((s) => ['yes', 'true', 'on', '1'].includes(s)),
);

/** One schema per section; keys are the contract's, in its spelling. */
const schema = {
  Network: {
    Range: v.pipe(
      v.string(),
      v.rawCheck(({ dataset, addIssue }) => {
        try {
          Pool.parse(dataset.value as string);
        } catch (e) {
          addIssue({ message: (e as Error).message });
        }
      }),
    ),
  },
  Toolstack: {
    Command: v.pipe(
      v.string(),
      v.check((s) => s === 'auto' || s === 'xm' || s === 'xl' || isAbsolute(s), 'must be auto, xm, xl or an absolute path'),
    ),
    Timeout: count(1, 3600),
  },
  Domains: {
    Kernel: absolutePath,
    Ramdisk: optionalPath,
    Memory: count(16, 16 * 1024 * 1024),
    VCpus: count(1, 512),
  },
  Images: {
    // A name is looked up on src/image's fixed PATH, never on the daemon's own.
    Debootstrap: v.pipe(
      v.string(),
      v.check((s) => isAbsolute(s) || /^[A-Za-z0-9_+][A-Za-z0-9_.+-]*$/.test(s), 'must be an absolute path or a program name (no /)'),
    ),
    CacheDirectory: optionalPath,
  },
  Daemon: {
    StateDirectory: absolutePath,
    Group: v.pipe(v.string(), v.regex(/^([a-z_][a-z0-9_-]*\$?)?$/i, 'must be empty or a Unix group name')),
    Polkit: bool,
    ReconcileSeconds: count(1, 86400),
    LogLevel: v.pipe(v.string(), oneOf(LOG_LEVELS)),
  },
} as const satisfies Record<string, Record<string, Value>>;

export const DEFAULTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  Network: { Range: '172.20.216.0/24' },
  Toolstack: { Command: 'auto', Timeout: '60' },
  Domains: { Kernel: '/boot/vmlinuz-xen', Ramdisk: '', Memory: '128', VCpus: '1' },
  Images: { Debootstrap: 'debootstrap', CacheDirectory: '' },
  Daemon: {
    StateDirectory: '/var/lib/domud',
    Group: '',
    Polkit: 'yes',
    ReconcileSeconds: '5',
    LogLevel: 'info',
  },
};

export interface Config {
  readonly source: string | null; // the file read, or null when all defaults
  readonly network: { readonly range: string };
  readonly toolstack: { readonly command: string; readonly timeoutSeconds: number };
  readonly domains: { readonly kernel: string; readonly ramdisk: string; readonly memory: number; readonly vcpus: number };
  /** CreateImage: the debootstrap run (a name on the fixed PATH or an absolute path) and its --cache-dir ('' for none) */
  readonly images: { readonly debootstrap: string; readonly cacheDirectory: string };
  readonly daemon: {
    readonly stateDirectory: string;
    readonly group: string;
    readonly polkit: boolean;
    readonly reconcileSeconds: number;
    readonly logLevel: LogLevel;
  };
}

export class ConfigError extends Error {
  readonly code = 'Config';
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly key: string | null,
    detail: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${key === null ? '' : `${key}: `}${detail}`);
    this.name = 'ConfigError';
  }
}

/**
 * Where the configuration comes from: --config, else $DOMUD_CONFIG, else the
 * default path. Only the default path may be missing.
 */
export function loadConfig(named: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  const path = named ?? env.DOMUD_CONFIG ?? DEFAULT_CONFIG_PATH;
  let text: string | null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' && path === DEFAULT_CONFIG_PATH && named === undefined && env.DOMUD_CONFIG === undefined) {
      text = null;
    } else {
      throw new ConfigError(path, null, null, `cannot read the configuration: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    }
  }
  return parseConfig(text ?? '', text === null ? null : path);
}

export function parseConfig(text: string, file: string | null): Config {
  const where = file ?? DEFAULT_CONFIG_PATH;
  let ini;
  try {
    ini = parseIni(text);
  } catch (e) {
    if (e instanceof IniSyntaxError) throw new ConfigError(where, e.line, null, e.message);
    throw e;
  }
  const values: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(schema)) {
    values[section] = {};
    for (const [key, type] of Object.entries(keys)) values[section]![key] = v.parse(type, DEFAULTS[section]![key]);
  }
  // Every section is checked at its header, so a misspelt one is refused
  // even when all its keys are commented out.
  for (const sec of ini.sections) {
    if (!(sec.name in schema)) {
      throw new ConfigError(where, sec.line, null, `unknown section [${sec.name}]; known: ${Object.keys(schema).map((s) => `[${s}]`).join(' ')}`);
    }
  }
  for (const e of ini.entries) {
    const keys = (schema as Record<string, Record<string, Value>>)[e.section]!;
    const type = keys[e.key];
    if (!type) {
      throw new ConfigError(where, e.line, `[${e.section}] ${e.key}`, `unknown key; known in [${e.section}]: ${Object.keys(keys).join(', ')}`);
    }
    const r = v.safeParse(type, e.value);
    if (!r.success) {
      const why = r.issues.map((i) => i.message).join('; ');
      throw new ConfigError(where, e.line, `[${e.section}] ${e.key}`, `bad value ${JSON.stringify(e.value)}: ${why}`);
    }
    values[e.section]![e.key] = r.output;
  }
  const got = values as {
    Network: { Range: string };
    Toolstack: { Command: string; Timeout: number };
    Domains: { Kernel: string; Ramdisk: string; Memory: number; VCpus: number };
    Images: { Debootstrap: string; CacheDirectory: string };
    Daemon: { StateDirectory: string; Group: string; Polkit: boolean; ReconcileSeconds: number; LogLevel: LogLevel };
  };
  return {
    source: file,
    network: { range: Pool.parse(got.Network.Range).cidr },
    toolstack: { command: got.Toolstack.Command, timeoutSeconds: got.Toolstack.Timeout },
    domains: { kernel: got.Domains.Kernel, ramdisk: got.Domains.Ramdisk, memory: got.Domains.Memory, vcpus: got.Domains.VCpus },
    images: { debootstrap: got.Images.Debootstrap, cacheDirectory: got.Images.CacheDirectory },
    daemon: {
      stateDirectory: got.Daemon.StateDirectory,
      group: got.Daemon.Group,
      polkit: got.Daemon.Polkit,
      reconcileSeconds: got.Daemon.ReconcileSeconds,
      logLevel: got.Daemon.LogLevel,
    },
  };
}
