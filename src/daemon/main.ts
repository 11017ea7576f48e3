#!/usr/bin/env node
// domud: the daemon's entry. Reads the command line and the configuration
// (command-line.ts), then runs the service (daemon.ts) until SIGTERM.
import { runDomud } from './command-line.js';

runDomud(process.argv.slice(2), { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s), env: process.env }).then(
  (code) => setImmediate(() => process.exit(code)),
  (err) => {
    process.stderr.write(`domud: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
