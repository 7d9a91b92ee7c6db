/**
 * Values keyed by an IP address and a port. The relay looks one up per datagram: keying
 * by address, then by port number, spares building and hashing an "address|port" string
 * each time.
 */
export class TransportAddressMap<T> {
  private readonly byAddress = new Map<string, Map<number, T>>();

  get(address: string, port: number): T | undefined {
    return this.byAddress.get(address)?.get(port);
  }

  set(address: string, port: number, value: T) {
    let ports = this.byAddress.get(address);
    if (!ports) this.byAddress.set(address, (ports = new Map()));
    ports.set(port, value);
  }

  delete(address: string, port: number) {
    const ports = this.byAddress.get(address);
    if (ports?.delete(port) && ports.size === 0) this.byAddress.delete(address);
  }
}
