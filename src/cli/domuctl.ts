#!/usr/bin/env node
// domuctl: the command-line client of domud. This file stays tiny; the
// rest loads on demand (see main.ts) so that a command starts fast.
import { run } from './main.js';

process.exitCode = await run(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  interactive: process.stdin.isTTY === true,
});
