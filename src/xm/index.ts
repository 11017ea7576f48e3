// The Xen toolstack (xm or xl) behind one typed interface. See docs/design.md.
export type { DomainInfo, ShutdownOptions, Toolstack, ToolstackKind, XenState } from './types.js';
export { openToolstack, detectKind, type OpenOptions } from './open.js';
export { renderGuestConfig, writeGuestConfig, removeStaleTemporaries, quote, checkName, type GuestSpec, type WriteOptions } from './config.js';
export { parseList, parseInfo, parseDomid, stateOf } from './list.js';
export {
  ToolstackError,
  DomainNotFoundError,
  DomainExistsError,
  ToolstackFailedError,
  ToolstackTimeoutError,
  ToolstackMissingError,
  ListParseError,
  ConfigValueError,
  NoSpaceError,
} from './errors.js';
