// Turns a failed run into a typed error by its words: xm and xl exit 1, 3
// or -rc for the same trouble, so exit statuses cannot tell (xen-notes §2.5,
// §3.3, §9.6).
import { DomainExistsError, DomainNotFoundError, ToolstackFailedError, type ToolstackError } from './errors.js';

const NOT_FOUND: readonly RegExp[] = [
  /Domain '[^']*' does not exist/, //                      xm (all versions), xl list <id>
  /is an invalid domain identifier/, //                   xl find_domain
  /Can't get domid of domain name/, //                    xl domid
  /Can't get domain name of domain id/, //               xl domname
  /Non-exist[ae]nt domain/, //                            libxl destroy of an unknown id
];
const EXISTS: readonly RegExp[] = [
  /already in use by domain/, //                          xend: VM name 'x' already in use by domain 3
  /Domain with name "[^"]*" already exists/, //           libxl
];

// Progress lines that xm/xl print before the real complaint.
const CHATTER = /^(Parsing config from |Using config file |Shutting down domain |Waiting for \d+ domains)/;

/** The first line of error output that says something (stderr first, then stdout). */
export function firstLine(stderr: string, stdout = ''): string {
  for (const text of [stderr, stdout]) {
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (t !== '' && !CHATTER.test(t)) return t;
    }
  }
  return '';
}

export function classify(argv: readonly string[], status: number | null, stderr: string, stdout: string, domain?: string): ToolstackError {
  const all = `${stderr}\n${stdout}`;
  const line = firstLine(stderr, stdout);
  // A create names no existing domain: when it fails, libxl's clean-up logs
  // "Non-existant domain" for the half-made one, which is not the failure.
  const lookup = argv[1] !== 'create';
  if (lookup && NOT_FOUND.some((re) => re.test(all))) return new DomainNotFoundError(domain ?? '', line);
  if (EXISTS.some((re) => re.test(all))) return new DomainExistsError(line);
  return new ToolstackFailedError(argv, status, line);
}
