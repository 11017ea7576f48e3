// The checked-in introspection XML (docs/dbus/*.xml) is the contract: the
// daemon serves each <interface> element exactly as written there and takes
// every method's signatures from it, so what clients read and what the
// dispatcher enforces cannot drift apart (libvirt-dbus does the same).
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

/** The folder with the interface XML: docs/dbus in the source tree and in the installed package. */
export function contractDir(): string {
  return join(packageRoot(), 'docs', 'dbus');
}

/** An InterfaceSpec as plain JSON: what the bundle carries (see loadInterface). */
export interface SpecJSON {
  readonly name: string;
  readonly xml: string;
  readonly methods: ReadonlyArray<readonly [string, MethodSpec]>;
  readonly properties: ReadonlyArray<readonly [string, PropertySpec]>;
  readonly signals: ReadonlyArray<readonly [string, string]>;
}

/**
 * The contract as scripts/bundle.mjs read and parsed it at build time: JSON
 * text, a string constant in the bundle (esbuild's define); undefined when
 * domud runs unbundled.
 */
declare const DOMUD_CONTRACT: string | undefined;

/** The bundled contract, parsed once for both interfaces. */
const bundled: Readonly<Record<string, SpecJSON>> | undefined = typeof DOMUD_CONTRACT === 'undefined' ? undefined : JSON.parse(DOMUD_CONTRACT);

export function specToJSON(i: InterfaceSpec): SpecJSON {
  return { name: i.name, xml: i.xml, methods: [...i.methods], properties: [...i.properties], signals: [...i.signals] };
}

function specFromJSON(j: SpecJSON): InterfaceSpec {
  return { name: j.name, xml: j.xml, methods: new Map(j.methods), properties: new Map(j.properties), signals: new Map(j.signals) };
}

/**
 * The interface `name` of the contract. The bundled daemon takes it from the
 * copy parsed at build time: xml2js, cold, takes milliseconds that start-up
 * would wait for. Unbundled (the tests, the tsc output), it reads docs/dbus.
 */
export async function loadInterface(name: string, dir?: string): Promise<InterfaceSpec> {
  if (dir === undefined && bundled) {
    const j = bundled[name];
    if (!j) throw new Error(`the bundle carries no interface ${name}`);
    return specFromJSON(j);
  }
  return parseInterface(name, readFileSync(join(dir ?? contractDir(), `${name}.xml`), 'utf8'));
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
