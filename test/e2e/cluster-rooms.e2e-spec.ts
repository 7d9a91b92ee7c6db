/**
 * Three shards behind the shipped haproxy.cfg (real HAProxy, Redis, PostgreSQL): every
 * socket.io entry into a room ends up in the room's one conference; new rooms spread
 * over the shards; bad redirect targets lead nowhere wrong.
 */
import { NodeParticipant, eventually } from '../support/node-participant';
import { joinThroughProxy, startCluster, TestCluster } from '../support/cluster';
import { connectSocket, errorCode, request } from '../support/signaling-client';

jest.setTimeout(120_000);

describe('cluster: rooms over three shards behind HAProxy', () => {
  let cluster: TestCluster;
  const open: NodeParticipant[] = [];
  const keep = (participant: NodeParticipant) => (open.push(participant), participant);

  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(async () => {
    open.forEach((participant) => participant.close());
    await cluster?.stop();
  });

  it('brings every entry into one conference: hashed, unhashed, and sent to a wrong shard', async () => {
    const room = 'one-room';
    const entries = [
      {}, // ?room= only: HAProxy's hash picks the shard
      { roomInQuery: false }, // round robin
      { query: { shard: 'shard1' } },
      { query: { shard: 'shard2' } },
      { query: { shard: 'shard3' } },
    ];
    const joins = [];
    for (const [i, entry] of entries.entries()) {
      const joined = await joinThroughProxy(cluster.url, room, `P${i}`, entry);
      keep(joined.participant);
      joins.push(joined);
    }
    const shards = new Set(joins.map(({ joined }) => joined.shard));
    expect(shards.size).toBe(1);
    // Whoever asked for another shard was sent on, once.
    const [owner] = shards;
    expect(joins.map(({ moves }) => moves).slice(2)).toEqual(
      ['shard1', 'shard2', 'shard3'].map((asked) => (asked === owner ? 0 : 1)),
    );
    // The last one sees the four before it, and media crosses between entries.
    expect(joins[4].joined.participants.map((p) => p.displayName).sort()).toEqual([
      'P0',
      'P1',
      'P2',
      'P3',
    ]);
    await joins[1].participant.publish(['audio']);
    const receiver = joins[3].participant;
    const sender = joins[1].joined.participantId;
    const stats = await eventually(
      () => receiver.receiveStats(),
      (s) => (s[sender]?.audioPackets ?? 0) > 20,
    );
    expect(stats[sender].audioPackets).toBeGreaterThan(20);
  });

  it('places new rooms on the least loaded shards', async () => {
    // One shard runs the five of the test above; nine solo rooms even the load out.
    for (let i = 0; i < 9; i++) {
      const { participant } = await joinThroughProxy(cluster.url, `spread-${i}`, 'Solo');
      keep(participant);
    }
    const participants = await Promise.all(
      cluster.shards.map(
        async (shard) => (await shard.process!.metrics()).videowindow_participants,
      ),
    );
    expect(participants.reduce((sum, n) => sum + n)).toBe(14);
    expect(Math.max(...participants) - Math.min(...participants)).toBeLessThanOrEqual(1);
  });

  it('ignores a redirect target that names no shard, and a forged or stale one', async () => {
    // No server by that name: HAProxy routes as usual, and the directory decides.
    const bogus = await joinThroughProxy(cluster.url, 'forged-room', 'A', {
      query: { shard: '../../etc/passwd' },
    });
    keep(bogus.participant);
    expect(bogus.moves).toBeLessThanOrEqual(1);
    // Asked for a shard that does not run the room: sent on to the one that does.
    const other = cluster.shards.find(({ id }) => id !== bogus.joined.shard)!.id;
    const stale = await joinThroughProxy(cluster.url, 'forged-room', 'B', {
      query: { shard: other },
    });
    keep(stale.participant);
    expect(stale.joined.shard).toBe(bogus.joined.shard);
    expect(stale.moves).toBe(1);
    // A client that ignores the redirect is simply not in the room.
    const stubborn = await connectSocket(cluster.url, { query: { shard: other } });
    try {
      await expect(
        errorCode(request(stubborn, 'join', { room: 'forged-room', displayName: 'C' })),
      ).resolves.toBe('wrong_shard');
      await expect(errorCode(request(stubborn, 'chat', { text: 'hello?' }))).resolves.toBe(
        'not_joined',
      );
    } finally {
      stubborn.close();
    }
  });
});
