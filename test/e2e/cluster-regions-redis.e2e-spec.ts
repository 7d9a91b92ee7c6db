/**
 * Region-aware placement (client networks on loopback, 127.1.x and 127.2.x, mapped to
 * two regions by HAProxy) and Redis restarts in the middle of a call and of an XMPP
 * room's chat, on a Redis of this test's own so that nothing else notices.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { eventually } from '../support/node-participant';
import {
  freePorts,
  joinThroughProxy,
  RejoiningParticipant,
  startCluster,
  TestCluster,
} from '../support/cluster';
import { connectXmpp, loadXmpp, recordStanzas } from '../support/xmpp-client';

jest.setTimeout(120_000);

const MUC = 'http://jabber.org/protocol/muc';

/** A Redis server of the test's own, which it may stop and start. */
class PrivateRedis {
  private child?: ChildProcess;
  constructor(readonly port: number) {}

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start() {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await eventually(
      () =>
        client.connect().then(
          () => true,
          () => false,
        ),
      (connected) => connected,
      5_000,
    );
    client.disconnect();
  }

  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

describe('cluster: regions', () => {
  let cluster: TestCluster;
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      regions: ['eu', 'eu', 'us'],
      regionMap: '127.1.0.0/16 eu\n127.2.0.0/16 us\n',
    });
  });
  afterAll(async () => {
    open.forEach((client) => client.close());
    await cluster?.stop();
  });

  it('places a new room in its first joiner’s region, and others join it there', async () => {
    const fromUs = await joinThroughProxy(cluster.url, 'us-room', 'Ann', {
      localAddress: '127.2.0.10',
    });
    open.push(fromUs.participant);
    expect(fromUs.joined.shard).toBe('shard3');
    const fromEu = await joinThroughProxy(cluster.url, 'eu-room', 'Bea', {
      localAddress: '127.1.0.10',
    });
    open.push(fromEu.participant);
    expect(['shard1', 'shard2']).toContain(fromEu.joined.shard);
    // A European joins the American's room where it is.
    const visitor = await joinThroughProxy(cluster.url, 'us-room', 'Cid', {
      localAddress: '127.1.0.11',
    });
    open.push(visitor.participant);
    expect(visitor.joined.shard).toBe('shard3');
    // A region header a client sends itself is overwritten by the proxy.
    const forged = await joinThroughProxy(cluster.url, 'forged-region-room', 'Dee', {
      localAddress: '127.1.0.12',
      extraHeaders: { 'x-region': 'us' },
    });
    open.push(forged.participant);
    expect(['shard1', 'shard2']).toContain(forged.joined.shard);
  });
});

describe('cluster: Redis restarted in the middle of a call', () => {
  let cluster: TestCluster;
  let redis: PrivateRedis;
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    redis = new PrivateRedis((await freePorts(1))[0]);
    await redis.start();
    cluster = await startCluster({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    open.forEach((client) => client.close());
    await cluster?.stop();
    await redis?.stop();
  });

  it('keeps running rooms going, and the cluster heals when Redis is back', async () => {
    const sender = new RejoiningParticipant(cluster.url, 'steady-room', 'Sender');
    await sender.join();
    await sender.publish(['audio']);
    const receiver = new RejoiningParticipant(cluster.url, 'steady-room', 'Receiver');
    await receiver.join();
    open.push(sender, receiver);
    const owner = sender.shard;

    await redis.stop();
    // Running rooms go on without the directory: media keeps flowing, nobody drops.
    const before = await receiver.packetsFrom(sender);
    const during = await eventually(
      () => receiver.packetsFrom(sender),
      (packets) => packets > before + 100,
    );
    expect(during).toBeGreaterThan(before + 100);
    // A new room cannot be placed meanwhile: a clear refusal, not a hang.
    const refusal = await joinThroughProxy(cluster.url, 'new-during-outage', 'X').catch(
      (error: { code?: string }) => error.code,
    );
    expect(refusal).toBe('unavailable');

    await redis.start();
    // The heartbeats announce the shards and claim their rooms again.
    const client = new Redis(redis.url);
    try {
      const leaseKey = `${cluster.name}:room:steady-room`;
      const healed = await eventually(
        async () => ({
          owner: await client.get(leaseKey),
          shards: (await client.smembers(`${cluster.name}:shards`)).sort(),
        }),
        (state) => state.owner === owner && state.shards.length === 3,
      );
      expect(healed).toEqual({ owner, shards: ['shard1', 'shard2', 'shard3'] });
    } finally {
      client.disconnect();
    }
    expect([sender.interruptions, receiver.interruptions]).toEqual([[], []]);
    // A newcomer finds the same conference.
    const late = await joinThroughProxy(cluster.url, 'steady-room', 'Late');
    open.push(late.participant);
    expect(late.joined.shard).toBe(owner);
    expect(late.joined.participants.map((p) => p.displayName).sort()).toEqual([
      'Receiver',
      'Sender',
    ]);
  });

  it('keeps XMPP users of different shards in their room, and learns the sessions bound meanwhile', async () => {
    const { xml } = await loadXmpp();
    const guestOn = async (shard: string) => {
      const xmpp = await connectXmpp({
        service: `${cluster.url.replace('http', 'ws')}/xmpp-websocket?shard=${shard}`,
        domain: 'localhost',
        mechanism: 'ANONYMOUS',
      });
      open.push({ close: () => void xmpp.stop().catch(() => undefined) });
      return { xmpp, log: recordStanzas(xmpp), jid: xmpp.jid.toString() };
    };
    const room = 'xmpp-steady@conference.localhost';
    const ann = await guestOn('shard1');
    const ben = await guestOn('shard2');
    for (const [member, nick] of [
      [ann, 'ann'],
      [ben, 'ben'],
    ] as const) {
      await member.xmpp.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: MUC })));
      await member.log.waitFor((s) => s.attrs.from === `${room}/${nick}`, `${nick} in the room`);
    }
    await ben.log.waitFor((s) => s.attrs.from === `${room}/ann`, 'ann seen by ben');

    await redis.stop();
    const late = await guestOn('shard3');
    await redis.start();
    // Once the shards exchanged their sessions, a message reaches the one bound meanwhile.
    const delivered = await eventually(
      async () => {
        const id = `m${Date.now()}`;
        await ann.xmpp.send(
          xml('message', { to: late.jid, type: 'chat', id }, xml('body', {}, id)),
        );
        return late.log
          .waitFor((s) => s.attrs.id === id, 'the message', 500)
          .then(
            () => true,
            () => false,
          );
      },
      (ok) => ok,
      20_000,
    );
    expect(delivered).toBe(true);
    // Nobody was taken out of the room (no shard took the others for gone meanwhile).
    await ann.xmpp.send(
      xml('message', { to: room, type: 'groupchat', id: 'after' }, xml('body', {}, 'still here')),
    );
    await ben.log.waitFor((s) => s.attrs.id === 'after', 'groupchat after the restart');
    const unavailable = [...ann.log.received, ...ben.log.received].filter(
      (s) => s.is('presence') && s.attrs.type === 'unavailable',
    );
    expect(unavailable.map(String)).toEqual([]);
  });
});
