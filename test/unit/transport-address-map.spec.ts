import { TransportAddressMap } from '../../src/turn/transport-address-map';

describe('TransportAddressMap', () => {
  it('keeps one value per address and port, apart for each', () => {
    const map = new TransportAddressMap<string>();
    map.set('127.0.0.1', 5000, 'a');
    map.set('127.0.0.1', 5001, 'b');
    map.set('10.0.0.1', 5000, 'c');
    expect([
      map.get('127.0.0.1', 5000),
      map.get('127.0.0.1', 5001),
      map.get('10.0.0.1', 5000),
      map.get('10.0.0.1', 5001),
    ]).toEqual(['a', 'b', 'c', undefined]);
  });

  it('forgets a deleted entry and leaves the address’s other ports alone', () => {
    const map = new TransportAddressMap<string>();
    map.set('127.0.0.1', 5000, 'a');
    map.set('127.0.0.1', 5001, 'b');
    map.delete('127.0.0.1', 5000);
    map.delete('127.0.0.1', 6000);
    map.delete('192.0.2.1', 5000);
    expect([map.get('127.0.0.1', 5000), map.get('127.0.0.1', 5001)]).toEqual([undefined, 'b']);
    map.delete('127.0.0.1', 5001);
    map.set('127.0.0.1', 5001, 'again');
    expect(map.get('127.0.0.1', 5001)).toBe('again');
  });
});
