// The bare service bench/dbus.ts measures domud against: dbus-next's
// Interface class, as a plain service would be written, with a trivial
// method, a property and a 1,000-row a(sisso) reply. A file of its own that
// loads dbus-next and nothing else, so that its start-up and memory are
// those of a bare service, not of the benchmark's harness.
import { fileURLToPath } from 'node:url';
import dbus from 'dbus-next';

export const BARE_NAME = 'org.domud.Bench';
export const BARE_PATH = '/org/domud/Bench';
export const BARE_IFACE = 'org.domud.Bench';
export const BARE_ROWS = 1_000;

async function serve(address: string): Promise<void> {
  const { Interface } = dbus.interface;
  const rows = Array.from({ length: BARE_ROWS }, (_, i) => [`vm${i}`, -1, 'stopped', `10.64.${i >> 8}.${i & 255}`, `${BARE_PATH}/vm${i}`]);
  class Bench extends Interface {
    Version = '0.1.0';
    Echo(name: string): string {
      return `${BARE_PATH}/${name}`;
    }
    Rows(): unknown[] {
      return rows;
    }
  }
  Bench.configureMembers({
    properties: { Version: { signature: 's', access: 'read' } },
    methods: { Echo: { inSignature: 's', outSignature: 'o' }, Rows: { inSignature: '', outSignature: 'a(sisso)' } },
  } as never);
  const bus = dbus.sessionBus({ busAddress: address });
  bus.export(BARE_PATH, new Bench(BARE_IFACE));
  await bus.requestName(BARE_NAME, dbus.NameFlag.DO_NOT_QUEUE);
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serve(process.argv[2]!);
