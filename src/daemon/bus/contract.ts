// The checked-in introspection XML (data/dbus/*.xml) is the contract: the
// daemon reads it at start-up, serves each <interface> element exactly as
// written there and takes every method's signatures from it, so what
// clients read and what the dispatcher enforces cannot drift apart
// (libvirt-dbus keeps and serves its XML the same way).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStringPromise } from 'xml2js';
import { packageRoot } from '../package.js';

export interface MethodSpec {
  readonly in: string;
  readonly out: string;
}

export type EmitsChanged = 'true' | 'invalidates' | 'const' | 'false';

export interface PropertySpec {
  readonly type: string;
  readonly emits: EmitsChanged;
}

export interface InterfaceSpec {
  readonly name: string;
  readonly xml: string; // the <interface> element, verbatim
  readonly methods: ReadonlyMap<string, MethodSpec>;
  readonly properties: ReadonlyMap<string, PropertySpec>;
  readonly signals: ReadonlyMap<string, string>;
}

interface XmlArg {
  $: { name?: string; type: string; direction?: string };
}
interface XmlAnnotation {
  $: { name: string; value: string };
}
interface XmlInterface {
  $: { name: string };
  method?: Array<{ $: { name: string }; arg?: XmlArg[] }>;
  property?: Array<{ $: { name: string; type: string }; annotation?: XmlAnnotation[] }>;
  signal?: Array<{ $: { name: string }; arg?: XmlArg[] }>;
  annotation?: XmlAnnotation[];
}

const EMITS = 'org.freedesktop.DBus.Property.EmitsChangedSignal';

/**
 * The folder with the interface XML: data/dbus in the source tree; in the
 * installed package a link to where D-Bus keeps interface files
 * (/usr/share/dbus-1/interfaces), so that there is one copy.
 */
export function contractDir(): string {
  return join(packageRoot(), 'data', 'dbus');
}

/** The interface `name` of the contract, read from `dir` (default: contractDir()). */
export async function loadInterface(name: string, dir = contractDir()): Promise<InterfaceSpec> {
  return parseInterface(name, readFileSync(join(dir, `${name}.xml`), 'utf8'));
}

/** Parses the contract file of interface `name`, given its text. */
export async function parseInterface(name: string, text: string): Promise<InterfaceSpec> {
  const start = text.indexOf('<interface ');
  const end = text.indexOf('</interface>');
  if (start < 0 || end < 0) throw new Error(`${name}.xml has no <interface> element`);
  const xml = text.slice(start, end + '</interface>'.length);
  const doc = (await parseStringPromise(xml)) as { interface: XmlInterface };
  const i = doc.interface;
  if (i.$.name !== name) throw new Error(`${name}.xml declares interface ${i.$.name}`);
  const sig = (args: XmlArg[] | undefined, dir: string) =>
    (args ?? []).filter((a) => (a.$.direction ?? 'in') === dir).map((a) => a.$.type).join('');
  const defaultEmits = (i.annotation ?? []).find((a) => a.$.name === EMITS)?.$.value ?? 'true';
  return {
    name,
    xml,
    methods: new Map((i.method ?? []).map((m) => [m.$.name, { in: sig(m.arg, 'in'), out: sig(m.arg, 'out') }])),
    properties: new Map(
      (i.property ?? []).map((p) => [
        p.$.name,
        { type: p.$.type, emits: ((p.annotation ?? []).find((a) => a.$.name === EMITS)?.$.value ?? defaultEmits) as EmitsChanged },
      ]),
    ),
    signals: new Map((i.signal ?? []).map((s) => [s.$.name, (s.arg ?? []).map((a) => a.$.type).join('')])),
  };
}
