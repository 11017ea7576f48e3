// src/net: routes from dom0 to its guests, one /32 per vif, never forwarding.
export { Routes, type RoutesOptions } from './routes.js';
export type { VifRoute, Change, Overlap, Piece } from './types.js';
export {
  NetError,
  NetConfigError,
  InvalidBindingError,
  IpMissingError,
  IpCommandError,
  IpOutputError,
  VifNotFoundError,
  SysctlError,
  ReconcileError,
} from './errors.js';
