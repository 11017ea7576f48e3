// The guests as ListDomains gives them: name, id, state, address and path,
// one row each. The window draws its list from this first and fetches every
// object (GetManagedObjects, which brings memory, vCPUs and the rest) only
// once that is on screen: with many guests domud takes several times longer
// to answer GetManagedObjects, and on a small machine its work competes with
// GTK's start-up. Until the objects come, memory and vCPUs show empty.
import type GLib from 'gi://GLib';
import type { PropertySource } from './objects.js';

/** The Domain properties a ListDomains row holds, by their place in its (sisso). */
const COLUMNS: Readonly<Record<string, number>> = { Name: 0, DomainId: 1, State: 2, Address: 3 };
const PATH = 4;

/** One ListDomains row as a domain's properties: those it has, unpacked when read. */
export class DomainRow implements PropertySource {
  constructor(private readonly row: GLib.Variant) {}

  get(name: string): unknown {
    const i = COLUMNS[name];
    return i === undefined ? undefined : this.row.get_child_value(i).unpack();
  }

  get path(): string {
    return this.row.get_child_value(PATH).get_string()[0] ?? '';
  }
}

/** The rows of a ListDomains reply, `(a(sisso))`. */
export function domainRows(reply: GLib.Variant): DomainRow[] {
  const rows = reply.get_child_value(0);
  const out: DomainRow[] = [];
  for (let i = 0, n = rows.n_children(); i < n; i++) out.push(new DomainRow(rows.get_child_value(i)));
  return out;
}
