// Entry point for /etc/grub.d/21_domud_xen: prints domud's Xen menu entries on
// standard output for grub-mkconfig (update-grub) to splice into grub.cfg.
// Flags carry what grub-mkconfig detected (distributor, root device, how GRUB
// reaches /boot); /etc/default/domud-grub, when present, has the last word.
// A bad setting fails the run, so grub-mkconfig stops and keeps the old grub.cfg.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Root } from './fsroot.js';
import { readGrubDefaults } from './grub/config.js';
import { DEFAULT_SETTINGS, generateXenEntries, type GrubSettings } from './grub/entries.js';

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

const USAGE = `usage: grub-cli [--root DIR] [--config FILE] [--distributor NAME] [--root-device DEV]
                [--boot-path PATH] [--prepare LINES] [--xen-options OPTS] [--dom0-options OPTS]`;

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        root: { type: 'string', default: '/' },
        config: { type: 'string' },
        distributor: { type: 'string' },
        'root-device': { type: 'string' },
        'boot-path': { type: 'string' },
        prepare: { type: 'string' },
        'xen-options': { type: 'string' },
        'dom0-options': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.err(`21_domud_xen: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const root = new Root(values.root);
  try {
    const file = values.config ?? root.at('etc/default/domud-grub');
    const defaults = await readGrubDefaults(file);
    const enable = defaults.enable ?? 'auto';
    if (enable === 'no') return 0;
    if (enable === 'auto' && (await root.isExecutable('etc/grub.d/20_linux_xen'))) {
      io.err(`21_domud_xen: /etc/grub.d/20_linux_xen already writes Xen entries; set ENABLE=yes in ${file} for domud's instead (and chmod -x 20_linux_xen)\n`);
      return 0;
    }
    const fromGrub: Partial<GrubSettings> = {
      ...(values.distributor ? { distributor: values.distributor } : {}),
      ...(values['root-device'] !== undefined ? { rootDevice: values['root-device'] } : {}),
      ...(values['boot-path'] !== undefined ? { bootPath: values['boot-path'] } : {}),
      ...(values.prepare !== undefined ? { prepare: values.prepare } : {}),
      ...(values['xen-options'] !== undefined ? { xenOptions: values['xen-options'] } : {}),
      ...(values['dom0-options'] !== undefined ? { dom0Options: values['dom0-options'] } : {}),
    };
    const settings: GrubSettings = { ...DEFAULT_SETTINGS, ...fromGrub, ...defaults.settings };
    const { entries, script } = await generateXenEntries(values.root, settings);
    for (const e of entries) io.err(`Found Xen ${e.hypervisor.version} with Linux ${e.kernel.version}\n`);
    io.out(script);
    return 0;
  } catch (e) {
    io.err(`21_domud_xen: ${(e as Error).message}\n`);
    return 1;
  }
}

// run as a program (the grub.d hook), not imported (tests)
const invoked = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (invoked) {
  process.exitCode = await main(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
}
