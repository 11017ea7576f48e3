// domud's command line: a bad configuration exits 1 with file, line and key
// before the bus is touched (a listening socket counts connections) or
// anything is written; usage errors exit 2. Through runDomud() in this
// process (a node start from the sources takes seconds here), and two as
// the program, to see that it ends with the status runDomud() gives.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PACKAGE_ROOT } from '../../../src/dev/sandbox.js';
import { runDomud } from '../../../src/daemon/command-line.js';
import { DAEMON_ENTRY } from '../../support/daemon.js';
import { CHILD_NODE_ARGS } from '../../support/loader.js';

const dir = mkdtempSync(join(tmpdir(), 'domud-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const state = join(dir, 'state');
const sock = join(dir, 'bus');
let connections = 0;
const server = createServer((c) => {
  connections++;
  c.destroy();
});
t.before(() => new Promise<void>((r) => server.listen(sock, r)));
t.teardown(() => new Promise<void>((r) => server.close(() => r())));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function domud(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await runDomud(args, { stdout: (x) => (stdout += x), stderr: (x) => (stderr += x), env: { ...process.env, DOMUD_CONFIG: '', ...env } });
  return { code, stdout, stderr };
}

function program(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const child = spawn(process.execPath, [...CHILD_NODE_ARGS, DAEMON_ENTRY, ...args], { env: { ...process.env, DOMUD_CONFIG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr })));
}

const conf = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, `[Daemon]\nStateDirectory=${state}\nPolkit=no\n${text}`);
  return f;
};

t.test('bad configurations and bad usage', async (t) => {
  const unknownKey = conf('unknown-key.conf', '[Toolstack]\nTimeout=5\nColour=blue\n');
  const badValue = conf('bad-value.conf', '[Network]\nRange=10.0.0.0/8\n');
  const unknownSection = conf('unknown-section.conf', '[Bridge]\nName=xenbr0\n');
  const badEnv = conf('bad-env.conf', '[Domains]\nMemory=lots\n');
  // A misspelt section whose keys are all commented out is still an unknown section.
  const emptySection = join(dir, 'empty-section.conf');
  writeFileSync(emptySection, `[Daemon]\nStateDirectory=${join(dir, 'state-empty')}\nPolkit=no\n[Deamon]\n#Group=xen\n`);
  const missing = join(dir, 'missing.conf');
  const bus = ['--bus', `unix:path=${sock}`];
  const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  const [key, value, section, miss, env, help, ver, badOpt, positional, level, empty, asProgram, versionOfProgram] = await Promise.all([
    domud(['--config', unknownKey, ...bus]),
    domud(['--config', badValue, ...bus]),
    domud(['--config', unknownSection, ...bus]),
    domud(['--config', missing, ...bus]),
    domud([...bus], { DOMUD_CONFIG: badEnv }),
    domud(['--help']),
    domud(['--version']),
    domud(['--colour', 'blue', ...bus]),
    domud(['start', ...bus]),
    domud(['--log-level', 'loud', '--config', unknownKey, ...bus]),
    domud(['--config', emptySection, '--bus', `unix:path=${join(dir, 'no-bus')}`]),
    program(['--config', unknownKey, ...bus]),
    program(['--version']),
  ]);
  t.same(asProgram, key, 'the program ends with the status and prints the line that runDomud() gives');
  t.same(versionOfProgram, ver, 'and so for --version');

  t.equal(key.code, 1, 'unknown key: exit 1');
  t.match(key.stderr, `domud: ${unknownKey}:6: [Toolstack] Colour: unknown key`);
  t.equal(value.code, 1, 'bad value: exit 1');
  t.match(value.stderr, `domud: ${badValue}:5: [Network] Range: bad value`);
  t.equal(section.code, 1, 'unknown section: exit 1');
  t.match(section.stderr, `domud: ${unknownSection}:4: unknown section [Bridge]; known: [Network] [Toolstack] [Domains] [Images] [Daemon]`); // the line of its header
  t.equal(miss.code, 1, 'missing named file: exit 1');
  t.match(miss.stderr, `domud: ${missing}: cannot read the configuration: no such file`);
  t.equal(env.code, 1, '$DOMUD_CONFIG with a bad value: exit 1');
  t.match(env.stderr, `${badEnv}:5: [Domains] Memory:`);
  for (const r of [key, value, section, miss, env]) {
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
    t.equal(r.stdout, '', 'nothing logged');
  }

  t.equal(help.code, 0, '--help exits 0');
  t.match(help.stdout, /^Usage: domud \[--config FILE\]/);
  t.match(help.stdout, /--log-level LEVEL/);
  t.equal(ver.code, 0, '--version exits 0');
  t.equal(ver.stdout, `domud ${version}\n`);
  t.equal(badOpt.code, 2, 'an unknown option exits 2');
  t.match(badOpt.stderr, /domud: Unknown option '--colour'/);
  t.match(badOpt.stderr, /Usage: domud/);
  t.equal(positional.code, 2, 'an argument exits 2');
  t.equal(level.code, 2, 'a bad --log-level exits 2, before the configuration is read');
  t.match(level.stderr, 'domud: --log-level must be one of fatal, error, warn, info, debug, trace, silent');

  // A misspelt section is refused at its header even when it has no keys.
  t.equal(empty.code, 1, 'an unknown section without keys: exit 1');
  t.match(empty.stderr, `domud: ${emptySection}:4: unknown section [Deamon]`);

  t.equal(connections, 0, 'none of them connected to the bus');
  t.notOk(existsSync(state), 'none of them created the state directory');
});
