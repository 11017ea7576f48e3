// /etc/default/domud-grub: the settings for domud's Xen boot entries. It
// looks like a shell file (KEY=value, KEY="value", KEY='value') but is read,
// never run, so nothing in it is expanded; a $ or ` that would need a shell
// is refused rather than silently taken literally.

import { readFile } from 'node:fs/promises';
import type { GrubSettings, XenLoader } from './entries.js';

export type Enable = 'auto' | 'yes' | 'no';

export interface GrubDefaults {
  readonly enable?: Enable;
  readonly settings: Partial<Omit<GrubSettings, 'prepare' | 'bootPath'>>;
}

export class GrubConfigError extends Error {
  readonly code = 'GrubConfigInvalid';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly key: string,
    reason: string,
  ) {
    super(`${file}:${line}: ${key ? `${key}: ` : ''}${reason}`);
  }
}

const KEYS = {
  ENABLE: 'enable',
  DISTRIBUTOR: 'distributor',
  XEN_OPTIONS: 'xenOptions',
  DOM0_OPTIONS: 'dom0Options',
  ROOT_DEVICE: 'rootDevice',
  XEN_LOADER: 'loader',
} as const;

function unquote(raw: string, fail: (why: string) => never): string {
  if (/^'[^']*'$/.test(raw)) return raw.slice(1, -1);
  const dq = /^"((?:[^"\\]|\\.)*)"$/.exec(raw);
  const body = dq ? dq[1]! : raw;
  if (!dq && /[\s'"\\;&|<>()]/.test(raw)) fail('quote the value (KEY="a b" or KEY=\'a b\')');
  if (/(^|[^\\])[$`]/.test(body)) fail('$ and ` are not expanded here: write the value out');
  return body.replace(/\\(.)/g, '$1');
}

export function parseGrubDefaults(text: string, file: string): GrubDefaults {
  let enable: Enable | undefined;
  const settings: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    const fail = (key: string, why: string): never => {
      throw new GrubConfigError(file, i + 1, key, why);
    };
    if (!m) return fail('', 'expected KEY=value');
    const key = m[1]!;
    if (!(key in KEYS)) return fail(key, `unknown key (known: ${Object.keys(KEYS).join(', ')})`);
    const value = unquote(m[2]!, (why) => fail(key, why));
    if (key === 'ENABLE') {
      if (value !== 'auto' && value !== 'yes' && value !== 'no') fail(key, 'must be auto, yes or no');
      enable = value as Enable;
    } else if (key === 'XEN_LOADER' && !['auto', 'multiboot', 'multiboot2'].includes(value)) {
      fail(key, 'must be auto, multiboot or multiboot2');
    } else {
      settings[KEYS[key as keyof typeof KEYS]] = value;
    }
  });
  return { ...(enable ? { enable } : {}), settings: settings as GrubDefaults['settings'] & { loader?: XenLoader } };
}

/** The file's settings; a missing file means none. */
export async function readGrubDefaults(file: string): Promise<GrubDefaults> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { settings: {} };
    throw e;
  }
  return parseGrubDefaults(text, file);
}
