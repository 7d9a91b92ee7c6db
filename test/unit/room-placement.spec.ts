import pino from 'pino';
import { ClusterService } from '../../src/cluster/cluster.service';
import { LocalRoomDirectory } from '../../src/cluster/room-directory';
import { RoomPlacement } from '../../src/cluster/room-placement.service';
import { ShardEntry, ShardLoad } from '../../src/cluster/shard';
import { RegionAwareLeastLoadedSelector } from '../../src/cluster/shard-selector';
import { WrongShardError } from '../../src/cluster/wrong-shard.error';

const shard = (id: string, region: string, load: Partial<ShardLoad> = {}): ShardEntry => ({
  id,
  region,
  internalUrl: `http://${id}.internal`,
  publicUrl: `https://${id}.example`,
  state: 'active',
  load: { rooms: 0, participants: 0, workerCpu: 0, ...load },
  seenAt: 1,
});

/** A cluster as this shard ("here") sees it: the shards of its last heartbeat. */
function setup(shards: ShardEntry[], here = 'here') {
  const live = new Map(shards.map((entry) => [entry.id, entry]));
  const held = new Set<string>();
  const reachable = jest.fn(async (entry: ShardEntry) => live.has(entry.id));
  const cluster = {
    id: here,
    self: live.get(here) ?? shard(here, 'eu'),
    isDraining: false,
    shards: () => [...live.values()],
    freshShards: async () => [...live.values()],
    shard: (id: string) => live.get(id),
    reachable,
    hold: (roomId: string) => held.add(roomId),
    letGo: (roomId: string) => held.delete(roomId),
  };
  const directory = new LocalRoomDirectory(60_000);
  const placement = new RoomPlacement(
    cluster as unknown as ClusterService,
    directory,
    new RegionAwareLeastLoadedSelector(),
    pino({ level: 'silent' }),
  );
  /** The shard dies: it stops announcing itself and answering. */
  const kill = (id: string) => live.delete(id);
  return { placement, directory, cluster, held, reachable, kill };
}

describe('RoomPlacement', () => {
  it('places a new room on the least loaded shard of the joiner’s region', async () => {
    const { placement, directory } = setup([
      shard('here', 'eu', { participants: 3 }),
      shard('eu-2', 'eu', { participants: 1 }),
      shard('us-1', 'us', { participants: 0 }),
    ]);
    expect((await placement.locate('r1', { region: 'eu' })).id).toBe('eu-2');
    expect(await directory.ownerOf('r1')).toBe('eu-2');
    expect((await placement.locate('r2', { region: 'us' })).id).toBe('us-1');
    // A region without shards: the least loaded of all.
    expect((await placement.locate('r3', { region: 'asia' })).id).toBe('us-1');
  });

  it('spreads a burst of new rooms instead of piling them on one shard', async () => {
    const { placement } = setup([shard('here', 'eu'), shard('b', 'eu'), shard('c', 'eu')]);
    const owners = [];
    for (let i = 0; i < 6; i++) owners.push((await placement.locate(`burst-${i}`)).id);
    expect(owners.sort()).toEqual(['b', 'b', 'c', 'c', 'here', 'here']);
  });

  it('never places new rooms on a draining shard, but keeps its live ones there', async () => {
    const draining = { ...shard('old', 'eu'), state: 'draining' as const };
    const { placement, directory } = setup([shard('here', 'eu', { participants: 9 }), draining]);
    expect((await placement.locate('new-room', { region: 'eu' })).id).toBe('here');
    await directory.claim('live-room', 'old');
    expect((await placement.locate('live-room')).id).toBe('old');
  });

  it('follows the directory, not a guess: concurrent first joins agree', async () => {
    const { placement } = setup([shard('here', 'eu'), shard('b', 'eu'), shard('c', 'eu')]);
    const owners = await Promise.all(Array.from({ length: 5 }, () => placement.locate('hot')));
    expect(new Set(owners.map((owner) => owner.id)).size).toBe(1);
  });

  it('takes over the room of a shard that is gone', async () => {
    const { placement, directory, kill } = setup([shard('here', 'eu'), shard('dead', 'eu')]);
    await directory.claim('orphan', 'dead');
    kill('dead');
    expect((await placement.locate('orphan')).id).toBe('here');
    expect(await directory.ownerOf('orphan')).toBe('here');
  });

  it('checks a suspect owner before sending a client back to it', async () => {
    const { placement, directory, reachable } = setup([shard('here', 'eu'), shard('b', 'eu')]);
    await directory.claim('room', 'b');
    expect((await placement.locate('room')).id).toBe('b');
    expect(reachable).not.toHaveBeenCalled();
    expect((await placement.locate('room', { ownerSuspect: true })).id).toBe('b');
    expect(reachable).toHaveBeenCalledTimes(1);
    // Still announced, but no longer answering (killed moments ago).
    reachable.mockResolvedValue(false);
    expect((await placement.locate('room', { ownerSuspect: true })).id).toBe('here');
    expect(await directory.ownerOf('room')).toBe('here');
  });

  it('opens a room here only when no other live shard runs it', async () => {
    const { placement, directory, held, kill } = setup([shard('here', 'eu'), shard('b', 'eu')]);
    await placement.claimHere('mine');
    expect(held.has('mine')).toBe(true);
    await directory.claim('theirs', 'b');
    const refusal = await placement.claimHere('theirs').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(WrongShardError);
    expect(refusal).toMatchObject({ code: 'wrong_shard', shard: 'b', url: 'https://b.example' });
    kill('b');
    await placement.claimHere('theirs');
    expect(await directory.ownerOf('theirs')).toBe('here');
    await placement.release('mine');
    expect(held.has('mine')).toBe(false);
    expect(await directory.ownerOf('mine')).toBeUndefined();
  });

  it('sends new rooms elsewhere while this shard drains, and refuses them when alone', async () => {
    const alone = setup([shard('here', 'eu')]);
    alone.cluster.isDraining = true;
    await expect(alone.placement.claimHere('new')).rejects.toMatchObject({ code: 'unavailable' });
    const pair = setup([shard('here', 'eu'), shard('b', 'eu')]);
    pair.cluster.isDraining = true;
    await expect(pair.placement.claimHere('new')).rejects.toMatchObject({
      code: 'wrong_shard',
      shard: 'b',
    });
  });

  it('hands a draining shard’s room to one heir, whom everyone moving with it follows', async () => {
    const b = shard('b', 'eu', { participants: 1 });
    const c = shard('c', 'eu', { participants: 2 });
    const { placement, directory, cluster } = setup([shard('here', 'eu'), b, c]);
    await placement.claimHere('moving');
    cluster.isDraining = true;
    await expect(placement.claimHere('moving')).rejects.toMatchObject({ shard: 'b' });
    expect(await directory.ownerOf('moving')).toBe('b');
    // The loads change between two participants' rejoins: they still meet at b.
    b.load.participants = 9;
    await expect(placement.claimHere('moving')).rejects.toMatchObject({ shard: 'b' });
  });
});
