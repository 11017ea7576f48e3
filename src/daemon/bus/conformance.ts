// The introspection XML and the handler tables must name the same members
// with the same signatures: a method in the XML without a handler would
// answer UnknownMethod to a call the contract promises; a handler missing
// from the XML would be unreachable and undocumented. sd-bus cannot drift so
// because it makes the XML from its vtable; domud serves the checked-in XML,
// so it checks the two against each other at start-up (publish.ts) and in a
// unit test (test/daemon/bus/conformance.test.ts).
import type { InterfaceImpl } from './dispatch.js';

/** What differs between `impl`'s handler table and its contract element; empty when they agree. */
export function conformance(impl: InterfaceImpl<any>): string[] {
  const { spec } = impl;
  const problems: string[] = [];
  const compare = (kind: string, xml: ReadonlyMap<string, string>, table: Readonly<Record<string, string>>) => {
    for (const [name, sig] of xml) {
      const have = table[name];
      if (have === undefined) problems.push(`${kind} ${spec.name}.${name} is in the XML but has no handler`);
      else if (have !== sig) problems.push(`${kind} ${spec.name}.${name} is (${sig}) in the XML but (${have}) in its handler table`);
    }
    for (const name of Object.keys(table)) {
      if (!xml.has(name)) problems.push(`${kind} ${spec.name}.${name} has a handler but is not in the XML`);
    }
  };
  const methodSig = (m: { in: string; out: string }) => `${m.in}) → (${m.out}`;
  compare('method', new Map([...spec.methods].map(([n, m]) => [n, methodSig(m)])), Object.fromEntries(Object.entries(impl.methods).map(([n, m]) => [n, methodSig(m)])));
  compare('property', new Map([...spec.properties].map(([n, p]) => [n, p.type])), Object.fromEntries(Object.entries(impl.properties).map(([n, p]) => [n, p.type])));
  compare('signal', spec.signals, impl.signals);
  return problems;
}

/** Throws, naming every difference, unless `impl` conforms to its contract element. */
export function assertConforms(impl: InterfaceImpl<any>): void {
  const problems = conformance(impl);
  if (problems.length > 0) throw new Error(`the D-Bus contract and domud's handlers disagree:\n  ${problems.join('\n  ')}`);
}
