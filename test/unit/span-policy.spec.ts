import { ShardEntry, ShardLoad } from '../../src/cluster/shard';
import { RoomHost, servingShard } from '../../src/cluster/span-policy';

const shard = (id: string, region: string, load: Partial<ShardLoad> = {}): ShardEntry => ({
  id,
  region,
  internalUrl: `http://${id}.internal`,
  publicUrl: `https://${id}.example`,
  state: 'active',
  load: { rooms: 0, participants: 0, workerCpu: 0, ...load },
  seenAt: 1,
});

const limits = { shardRoomSize: 3, maxShardCpu: 0.8 };
const eu1 = shard('eu1', 'eu');
const eu2 = shard('eu2', 'eu', { participants: 5 });
const us1 = shard('us1', 'us');
const all = [eu1, eu2, us1];
const host = (entry: ShardEntry, participants: number): RoomHost => ({
  shard: entry,
  participants,
});
const serving = (hosts: RoomHost[], region?: string, candidates = all) =>
  servingShard(hosts, candidates, region, limits).id;

describe('servingShard (where a joiner of a live room is served)', () => {
  it('keeps a joiner on the home shard while it has room, whatever the load elsewhere', () => {
    expect(serving([host(eu2, 2)], 'eu')).toBe('eu2');
    expect(serving([host(eu2, 2)])).toBe('eu2');
  });

  it('sends a joiner of another region to a shard of its region, which joins the room', () => {
    expect(serving([host(eu1, 1)], 'us')).toBe('us1');
    // Once it hosts the room, the region's joiners stay there.
    expect(serving([host(eu1, 1), host(us1, 1)], 'us')).toBe('us1');
  });

  it('spills over to the least loaded shard when the hosts are full, and fills hosts in order', () => {
    expect(serving([host(eu1, 3)], 'eu')).toBe('eu2');
    expect(
      serving([host(eu1, 3)], undefined, [eu1, eu2, shard('eu3', 'eu', { participants: 9 })]),
    ).toBe('eu2');
    // A host that emptied is refilled only after the hosts before it.
    expect(serving([host(eu1, 2), host(eu2, 0)], 'eu')).toBe('eu1');
  });

  it('passes over busy and draining shards, and overfills the emptiest host when nothing is left', () => {
    const busy = shard('us2', 'us', { workerCpu: 0.9 });
    const draining = { ...shard('us3', 'us'), state: 'draining' as const };
    expect(serving([host(eu1, 1)], 'us', [eu1, busy, draining])).toBe('eu1');
    expect(serving([host(eu1, 3), host(us1, 4)], 'us', [eu1, us1])).toBe('eu1');
    // A draining host is overfilled only when every host drains.
    expect(serving([host(draining, 0), host(eu1, 3)], 'us', [eu1, draining])).toBe('eu1');
    expect(serving([host(draining, 0)], 'us', [draining])).toBe('us3');
  });
});
