// Reads `xm list` / `xl list` text. Formats (xen-notes §2.1, §3.1):
//   xm 3.0.2/3.0.3   Name ID Mem(MiB) VCPUs State Time(s)   (3.0.2 with ACM: a trailing s:XXXX/p:XXXX)
//   xm 3.0.4-4.4     Name ID Mem VCPUs State Time(s)        (ID empty for inactive managed domains)
//   xl               the same words, TABs before State and Time(s); names may hold spaces
// Rows are read from the right, so a name is whatever is left over.
import { ListParseError } from './errors.js';
import type { DomainInfo, XenState } from './types.js';

type Format = 'xm-mib' | 'xm' | 'xl';

// Position by position: r b p s, then xm's crashed flag or xl's shutdown
// reason letter (-rscwS), then d; `?` is xend's "unknown".
const FLAGS = /^[r?-][b?-][p?-][s?-][-rscwS?][d?-]$/;
const UINT = /^\d{1,15}$/;
const SECONDS = /^\d{1,15}(\.\d+)?$/;
const ACM = /^s:[0-9a-f]{4}\/p:[0-9a-f]{4}$/;

/**
 * The API state for six state letters. Precedence, most telling first:
 * crashed > dying > shutdown > paused > running > blocked; `------`
 * (runnable, not scheduled) is running. Any shutdown reason other than
 * crash (reboot, suspend, watchdog, soft reset) reads as shutdown.
 */
export function stateOf(flags: string): XenState {
  if (flags[4] === 'c') return 'crashed';
  if (flags[5] === 'd') return 'dying';
  if (flags[3] === 's') return 'shutdown';
  if (flags[2] === 'p') return 'paused';
  if (flags[1] === 'b' && flags[0] !== 'r') return 'blocked';
  return 'running';
}

function headerFormat(line: string): Format | undefined {
  const w = line.trim().split(/\s+/);
  if (w.length !== 6 || w[0] !== 'Name' || w[1] !== 'ID' || w[3] !== 'VCPUs' || w[4] !== 'State' || w[5] !== 'Time(s)') {
    return undefined;
  }
  if (w[2] === 'Mem(MiB)') return 'xm-mib';
  if (w[2] !== 'Mem') return undefined;
  return line.includes('\t') ? 'xl' : 'xm';
}

const isSpace = (c: number) => c === 32 || c === 9;

/** The last `n` whitespace-separated tokens of `line` and what precedes them. */
function splitRight(line: string, n: number): { head: string; tail: string[] } | undefined {
  const tail: string[] = new Array(n);
  let end = line.length;
  for (let k = n - 1; k >= 0; k--) {
    while (end > 0 && isSpace(line.charCodeAt(end - 1))) end--;
    let start = end;
    while (start > 0 && !isSpace(line.charCodeAt(start - 1))) start--;
    if (start === end) return undefined;
    tail[k] = line.slice(start, end);
    end = start;
  }
  return { head: line.slice(0, end).trim(), tail };
}

function row(format: Format, line: string): DomainInfo | undefined {
  let text = line;
  if (format === 'xm-mib') {
    const last = splitRight(text, 1)!; // blank lines never get here
    if (ACM.test(last.tail[0]!)) text = last.head;
  }
  let parts = splitRight(text, 5);
  let id: number | null = null;
  if (format === 'xm' && (!parts || parts.head === '' || !UINT.test(parts.tail[0]!))) {
    // xm 3.2+ prints an empty ID for an inactive managed domain.
    const short = splitRight(text, 4);
    parts = short && { head: short.head, tail: ['', ...short.tail] };
  }
  if (!parts) return undefined;
  const { head: name, tail } = parts;
  const [sid, mem, vcpus, flags, time] = tail as [string, string, string, string, string];
  if (name === '') return undefined;
  if (format !== 'xl' && /\s/.test(name)) return undefined; // xend names have no spaces
  if (sid !== '') {
    if (!UINT.test(sid)) return undefined;
    id = Number(sid);
  }
  if (!UINT.test(mem) || !UINT.test(vcpus) || !FLAGS.test(flags) || !SECONDS.test(time)) return undefined;
  return { name, id, memory: Number(mem), vcpus: Number(vcpus), state: stateOf(flags), flags, cpuTime: Number(time) };
}

/** Every domain in a `list` output; throws ListParseError on any line it cannot read. */
export function parseList(text: string): DomainInfo[] {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.trim() === '') i++;
  if (i === lines.length) throw new ListParseError('list', 1, 'no header line');
  const format = headerFormat(lines[i]!);
  if (!format) throw new ListParseError('list', i + 1, lines[i]!);
  const out: DomainInfo[] = [];
  for (i++; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const d = row(format, line);
    if (!d) throw new ListParseError('list', i + 1, line);
    out.push(d);
  }
  return out;
}

/** `xm info` / `xl info`: `key   : value` lines. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    const key = colon < 0 ? '' : line.slice(0, colon).trim();
    if (!/^[a-z][a-z0-9_]*$/.test(key)) throw new ListParseError('info', i + 1, line);
    out[key] = line.slice(colon + 1).trim();
  }
  if (Object.keys(out).length === 0) throw new ListParseError('info', 1, 'no output');
  return out;
}

/** `xm domid` / `xl domid`: one number. */
export function parseDomid(text: string): number {
  const t = text.trim();
  if (!UINT.test(t)) throw new ListParseError('domid', 1, t);
  return Number(t);
}
