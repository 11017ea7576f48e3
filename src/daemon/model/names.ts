// Domain names and MAC addresses: the rules of the contract, checked before
// anything is written or run.
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, InvalidNameError } from './errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new InvalidNameError(
      `Invalid domain name ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)}: ` +
        'use 1 to 63 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit',
    );
  }
  if (name.toLowerCase() === 'domain-0') {
    throw new InvalidNameError('"Domain-0" is the name of dom0 itself and is reserved');
  }
}

/** Image names follow the domain-name rule (domud-api.md, "Images and jobs"). */
export function checkImageName(name: string): void {
  if (!NAME.test(name)) {
    throw new InvalidNameError(
      `Invalid image name ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)}: ` +
        'use 1 to 63 characters from A-Z a-z 0-9 _ . -, starting with a letter or digit',
    );
  }
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A unicast, non-zero MAC address in lower case, or an InvalidArgumentError. */
export function checkMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!MAC.test(m)) throw new InvalidArgumentError(`Invalid MAC address ${JSON.stringify(mac)}: expected six hex pairs like 00:16:3e:12:34:56`);
  if (parseInt(m.slice(0, 2), 16) & 1) throw new InvalidArgumentError(`MAC address ${m} is a multicast address; a vif needs a unicast one`);
  if (m === '00:00:00:00:00:00') throw new InvalidArgumentError('MAC address 00:00:00:00:00:00 is not a usable address');
  return m;
}

/** A random MAC in Xen's OUI 00:16:3e, as xm and xl themselves make. */
export function randomXenMac(): string {
  const b = randomBytes(3);
  b[0] = b[0]! & 0x7f; // Xen's own tools keep the top bit clear
  return `00:16:3e:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}
