import { networkInterfaces } from 'node:os';

/** The first non-internal IPv4 address of this host, or loopback when it has none. */
export function detectAnnouncedAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}
