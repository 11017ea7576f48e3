// The yardstick for CreateDomain's overhead: a bare dbus-next service (as in
// bare.ts) whose one method runs the simulator as domud's CreateDomain does,
// `create` and then `domid`, and answers with the milliseconds those two runs
// took. bench/dbus.ts starts it inside the daemon's namespace, so that it
// starts the tool exactly as the daemon does (no `ip netns exec` in front of
// each run to flatter the daemon). One call thus gives three figures: the
// simulator alone (the answer), the simulator behind a bare service (the
// call's time), and, set beside a CreateDomain, domud's own work.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import dbus from 'dbus-next';

export const SIM_NAME = 'org.domud.BenchSim';
export const SIM_PATH = '/org/domud/BenchSim';
export const SIM_IFACE = 'org.domud.BenchSim';

async function serve(address: string, tool: string): Promise<void> {
  const run = promisify(execFile);
  const { Interface } = dbus.interface;
  class Sim extends Interface {
    async Create(config: string, name: string): Promise<number> {
      const t = process.hrtime.bigint();
      await run(tool, ['create', config]);
      await run(tool, ['domid', name]);
      return Number(process.hrtime.bigint() - t) / 1e6;
    }
    async Destroy(name: string): Promise<void> {
      await run(tool, ['destroy', name]);
    }
  }
  Sim.configureMembers({
    methods: { Create: { inSignature: 'ss', outSignature: 'd' }, Destroy: { inSignature: 's', outSignature: '' } },
  } as never);
  const bus = dbus.sessionBus({ busAddress: address });
  bus.export(SIM_PATH, new Sim(SIM_IFACE));
  await bus.requestName(SIM_NAME, dbus.NameFlag.DO_NOT_QUEUE);
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await serve(process.argv[2]!, process.argv[3]!);
