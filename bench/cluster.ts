/**
 * cluster: three shard processes behind real HAProxy (the shipped haproxy.cfg), with real
 * Redis and PostgreSQL, as test/support/cluster.ts runs them. Measures
 * - placements: new rooms per second through HAProxy (connect, join, redirects followed);
 * - join latency through HAProxy vs straight to the room's shard (signaling only: connect
 *   and join answered), and the ratio;
 * - XMPP 1:1 message latency (sent until received) between two clients of one shard and
 *   between clients of two shards (over the cluster bus), and the ratio;
 * - failover: kill -9 of a room's shard until a receiver gets media from its sender again,
 *   both rejoined through HAProxy, over several kills (the shard restarts in between).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { eventually } from '../test/support/node-participant';
import {
  REDIS_URL,
  RejoiningParticipant,
  signalingJoinThroughProxy,
  startCluster,
} from '../test/support/cluster';
import { connectSocket, request } from '../test/support/signaling-client';
import { POSTGRES_URL } from '../test/support/test-databases';
import { connectXmpp, loadXmpp, nextStanza, XmppClient } from '../test/support/xmpp-client';
import { percentile } from './join-latency';
import { debianPackage, service } from './prerequisites';
import type { Bench, Row } from './run';

const CONNECT_TIMEOUT_MS = 3000;

async function redisAnswers() {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // connect() rejects with it
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
}

async function postgresAnswers() {
  const client = new Client({
    connectionString: POSTGRES_URL,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const clusterBench: Bench = {
  needs: [
    debianPackage('haproxy', ['haproxy']),
    service(
      'Redis',
      REDIS_URL,
      redisAnswers,
      `start one with "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no", or set TEST_REDIS_URL`,
    ),
    service(
      'PostgreSQL',
      POSTGRES_URL,
      postgresAnswers,
      'set TEST_DATABASE_URL to a PostgreSQL database where the bench may create a schema',
    ),
  ],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        rooms: { type: 'string', default: '200' },
        concurrency: { type: 'string', default: '10' },
        joins: { type: 'string', default: '200' },
        messages: { type: 'string', default: '500' },
        kills: { type: 'string', default: '5' },
        tiny: { type: 'boolean' },
      },
    });
    const rooms = values.tiny ? 10 : Number(values.rooms);
    const concurrency = values.tiny ? 2 : Number(values.concurrency);
    const joins = values.tiny ? 10 : Number(values.joins);
    const messages = values.tiny ? 20 : Number(values.messages);
    const kills = values.tiny ? 1 : Number(values.kills);
    for (const [name, value] of Object.entries({ rooms, concurrency, joins, messages, kills })) {
      if (!Number.isInteger(value) || value < 1)
        throw new Error(`--${name} takes a positive integer`);
    }
    progress('starting three shards and HAProxy');
    const cluster = await startCluster({
      env: {
        SIGNALING_REQUESTS_PER_SECOND: '10000',
        XMPP_STANZAS_PER_SECOND: '10000',
        XMPP_STANZA_BURST: '10000',
      },
    });
    const rows: Row[] = [];
    try {
      // --- placements of new rooms ---
      progress(`placing ${rooms} new rooms, ${concurrency} at a time`);
      const placedOn: Record<string, number> = {};
      let next = 0;
      const placeStart = Date.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < rooms) {
            const room = `place-${next++}`;
            const { socket, joined } = await signalingJoinThroughProxy(cluster.url, room, 'P');
            placedOn[joined.shard] = (placedOn[joined.shard] ?? 0) + 1;
            socket.close();
          }
        }),
      );
      const placeSeconds = (Date.now() - placeStart) / 1000;
      rows.push({
        figure: 'new rooms placed through HAProxy',
        value: `${(rooms / placeSeconds).toFixed(1)} /s`,
        detail: `${rooms} rooms in ${placeSeconds.toFixed(1)} s; per shard ${JSON.stringify(placedOn)}`,
      });

      // --- join latency: proxy vs direct ---
      const room = 'latency-room';
      const hashed = (await (await fetch(`${cluster.url}/health/live?room=${room}`)).json()) as {
        shard: string;
      };
      // The room runs where HAProxy's hash sends it: no redirect, the proxy alone is measured.
      const redis = new Redis(REDIS_URL);
      await redis.set(`${cluster.name}:room:${room}`, hashed.shard, 'PX', 10_000);
      redis.disconnect();
      const anchor = await signalingJoinThroughProxy(cluster.url, room, 'Anchor');
      const direct = cluster.shard(hashed.shard).process!.url;
      const timeJoins = async (url: string, query: Record<string, string>) => {
        const times: number[] = [];
        for (let i = 0; i < joins; i++) {
          const started = performance.now();
          const socket = await connectSocket(url, { query });
          await request(socket, 'join', { room, displayName: `J${i}` });
          times.push(performance.now() - started);
          socket.close();
        }
        return times.sort((a, b) => a - b);
      };
      progress(`timing ${joins} joins through HAProxy and ${joins} straight to ${hashed.shard}`);
      const viaProxy = await timeJoins(cluster.url, { room });
      const straight = await timeJoins(direct, { room });
      anchor.socket.close();
      const p50 = (times: number[]) => percentile(times, 50);
      for (const [path, times] of [
        ['through HAProxy', viaProxy],
        ['straight to the shard', straight],
      ] as const) {
        rows.push({
          figure: `join (connect + join answered), ${path}`,
          value: `p50 ${p50(times).toFixed(1)} ms`,
          detail: `p99 ${percentile(times, 99).toFixed(1)} ms over ${times.length}`,
        });
      }
      rows.push({
        figure: 'join latency ratio, HAProxy / direct (p50)',
        value: (p50(viaProxy) / p50(straight)).toFixed(2),
        detail: '',
      });

      // --- XMPP 1:1 messages: same shard vs across shards ---
      const [home, other] = cluster.shards.map((shard) => shard.id);
      progress(`timing ${messages} XMPP messages within ${home} and ${messages} to ${other}`);
      const guestOn = (shard: string) =>
        connectXmpp({
          service: `${cluster.url.replace('http', 'ws')}/xmpp-websocket?shard=${shard}`,
          domain: 'localhost',
          mechanism: 'ANONYMOUS',
        });
      const sender = await guestOn(home);
      const near = await guestOn(home);
      const far = await guestOn(other);
      const { xml } = await loadXmpp();
      let sent = 0;
      const timeMessages = async (receiver: XmppClient, count: number) => {
        const times: number[] = [];
        for (let i = 0; i < count; i++) {
          const id = `m${sent++}`;
          const received = nextStanza(receiver, (stanza) => stanza.attrs.id === id);
          const started = performance.now();
          await sender.send(
            xml('message', { to: receiver.jid.toString(), type: 'chat', id }, xml('body', {}, id)),
          );
          await received;
          times.push(performance.now() - started);
        }
        return times.sort((a, b) => a - b);
      };
      try {
        // A few first messages warm both paths up.
        await timeMessages(near, 5);
        await timeMessages(far, 5);
        const sameShard = await timeMessages(near, messages);
        const acrossShards = await timeMessages(far, messages);
        for (const [path, times] of [
          ['same shard', sameShard],
          ['across shards', acrossShards],
        ] as const) {
          rows.push({
            figure: `XMPP 1:1 message (sent to received), ${path}`,
            value: `p50 ${p50(times).toFixed(2)} ms`,
            detail: `p99 ${percentile(times, 99).toFixed(2)} ms over ${times.length}`,
          });
        }
        rows.push({
          figure: 'XMPP message latency ratio, across / same shard (p50)',
          value: (p50(acrossShards) / p50(sameShard)).toFixed(2),
          detail: '',
        });
      } finally {
        await Promise.all([sender, near, far].map((client) => client.stop()));
      }

      // --- failover ---
      const gaps: number[] = [];
      for (let kill = 0; kill < kills; kill++) {
        const failoverRoom = `failover-${randomUUID().slice(0, 6)}`;
        const sender = new RejoiningParticipant(cluster.url, failoverRoom, 'Sender');
        await sender.join();
        await sender.publish(['audio']);
        const receiver = new RejoiningParticipant(cluster.url, failoverRoom, 'Receiver');
        await receiver.join();
        try {
          await eventually(
            () => receiver.packetsFrom(sender),
            (n) => n > 20,
          );
          const dead = sender.shard;
          const killedAt = Date.now();
          cluster.kill(dead);
          await eventually(
            async () =>
              sender.shard !== dead && receiver.shard === sender.shard
                ? receiver.packetsFrom(sender)
                : 0,
            (packets) => packets > 0,
            30_000,
          );
          gaps.push(Date.now() - killedAt);
          gaps.sort((a, b) => a - b);
          progress(
            `kill ${kill + 1}/${kills} of ${dead}: media back after ${Date.now() - killedAt} ms`,
          );
          await cluster.restart(dead);
          await eventually(
            () => cluster.serverStates(),
            (states) => states[dead] === 'UP',
          );
        } finally {
          sender.close();
          receiver.close();
        }
      }
      rows.push({
        figure: 'failover: kill -9 of the room’s shard to media again',
        value: `p50 ${percentile(gaps, 50)} ms, max ${Math.max(...gaps)} ms`,
        detail: `${gaps.length} kills: ${gaps.join(', ')} ms`,
      });
      return rows;
    } finally {
      await cluster.stop();
    }
  },
};
