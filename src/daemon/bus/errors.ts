// The one place where domud's typed errors become D-Bus error names. Every
// layer's errors carry a stable `code`; anything without a known code is an
// internal error, logged in full and answered without a stack trace.
import type { Logger } from 'pino';

const P = 'org.domud.Domud1.Error.';
const F = 'org.freedesktop.DBus.Error.';

const NAMES: Readonly<Record<string, string>> = {
  // the model
  InvalidName: `${P}InvalidName`,
  InvalidArgument: `${P}InvalidArgument`,
  NoSuchDomain: `${P}NoSuchDomain`,
  DomainExists: `${P}DomainExists`,
  NotRunning: `${P}NotRunning`,
  AlreadyRunning: `${P}AlreadyRunning`,
  Timeout: `${P}Timeout`,
  ShuttingDown: `${P}ShuttingDown`,
  // the allocator
  PoolExhausted: `${P}PoolExhausted`,
  AddressUnavailable: `${P}AddressUnavailable`,
  LeaseExists: `${P}DomainExists`,
  NoSuchLease: `${P}NoSuchDomain`,
  // the toolstack
  ToolstackFailed: `${P}ToolstackFailed`,
  ToolstackMissing: `${P}ToolstackFailed`,
  ListParse: `${P}ToolstackFailed`,
  ToolstackTimeout: `${P}Timeout`,
  DomainNotFound: `${P}NotRunning`,
  ConfigValue: `${P}InvalidArgument`,
  // the routes (an addition to the contract: a vif or its route could not be set up)
  NetConfigInvalid: `${P}NetworkFailed`,
  InvalidBinding: `${P}NetworkFailed`,
  IpMissing: `${P}NetworkFailed`,
  IpCommandFailed: `${P}NetworkFailed`,
  IpOutputInvalid: `${P}NetworkFailed`,
  VifNotFound: `${P}NetworkFailed`,
  SysctlFailed: `${P}NetworkFailed`,
  ReconcileFailed: `${P}NetworkFailed`,
  // a full state or config directory, from the allocator or the config writer (an addition, 1.1)
  NoSpace: `${P}NoSpace`,
  // images and jobs (an addition, 1.1); src/image and the model use the same codes
  NoSuchImage: `${P}NoSuchImage`,
  ImageExists: `${P}ImageExists`,
  ImageBusy: `${P}ImageBusy`,
  ImageFailed: `${P}ImageFailed`,
  Cancelled: `${P}Cancelled`,
  // authorization
  AccessDenied: `${F}AccessDenied`,
  InteractiveAuthorizationRequired: `${F}InteractiveAuthorizationRequired`,
};

export function errorMapper(log: Logger): (e: unknown) => { name: string; message: string } {
  return (e) => {
    const code = (e as { code?: unknown })?.code;
    const name = typeof code === 'string' ? NAMES[code] : undefined;
    if (name && e instanceof Error) return { name, message: e.message };
    log.error({ err: e }, 'internal error answered as org.freedesktop.DBus.Error.Failed');
    return { name: `${F}Failed`, message: 'domud hit an internal error; its log (journalctl -u domud) has the details' };
  };
}
