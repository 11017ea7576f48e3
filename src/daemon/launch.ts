#!/usr/bin/env node
// domud's program, dist/domud.cjs: loads the bundled daemon (dist/daemon.cjs)
// as Node would load a CommonJS module, but with the V8 code cache built
// beside it (codecache.ts). NODE_DEBUG=domud says whether the cache was used.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { debuglog } from 'node:util';
import { compileCached } from './codecache.js';

const file = join(__dirname, 'daemon.cjs');
const { fn, cache } = compileCached(file);
debuglog('domud')('code cache of %s: %s', file, cache);
const module = { exports: {} };
fn.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
