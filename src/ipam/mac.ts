const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** True for a colon-separated unicast MAC such as 00:16:3e:12:34:56 (first octet's low bit clear). */
export function isUnicastMac(mac: string): boolean {
  return typeof mac === 'string' && MAC.test(mac) && (parseInt(mac.slice(0, 2), 16) & 1) === 0;
}
