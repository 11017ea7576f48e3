export { Pool, MIN_PREFIX, MAX_PREFIX } from './pool.js';
export { Allocator, type Lease, type Holder, type AllocateOptions, type OpenOptions } from './allocator.js';
export { isUnicastMac } from './mac.js';
export {
  IpamError,
  InvalidRangeError,
  InvalidArgumentError,
  PoolExhaustedError,
  AddressUnavailableError,
  LeaseExistsError,
  NoSuchLeaseError,
  DatabaseError,
  NoSpaceError,
  type InvalidRangeReason,
  type UnavailableReason,
} from './errors.js';
