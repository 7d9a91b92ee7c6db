/**
 * Webhooks delivered to a local HTTP receiver that checks the HMAC signature: room and
 * participant events from a real client's join and leave, and a retry after a 500; and
 * receivers that never answer or misbehave (the shard as its own process: a crash shows).
 */
import { createHmac } from 'node:crypto';
import { createServer, Server } from 'node:http';
import {
  AddressInfo,
  createServer as createNetServer,
  Server as NetServer,
  Socket,
} from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { verifyWebhookSignature } from '../../src/webhooks/webhook-signature';
import type { WebhookEvent } from '../../src/webhooks/webhooks.service';
import { eventually, NodeParticipant } from '../support/node-participant';
import { startShard, TestShard } from '../support/shard';
import { ShardProcess, startShardProcess } from '../support/shard-process';

const SECRET = 'webhook-test-secret-0123456789';

interface Received {
  event: WebhookEvent;
  signatureValid: boolean;
  answered: number;
}

describe('webhooks', () => {
  let receiver: Server;
  let shard: TestShard;
  const received: Received[] = [];
  /** Deliveries of these events are answered with 500 the first time. */
  const failOnce = new Set<string>(['participant_joined']);

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const signature = String(request.headers['x-video-window-signature'] ?? '');
        const event = JSON.parse(body) as WebhookEvent;
        const answered = failOnce.delete(event.event) ? 500 : 204;
        received.push({
          event,
          signatureValid: verifyWebhookSignature(SECRET, body, signature),
          answered,
        });
        response.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    shard = await startShard({
      WEBHOOK_URLS: `http://127.0.0.1:${port}/hooks`,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_RETRY_BASE_MS: '50',
      EMPTY_ROOM_GRACE_MS: '100',
    });
  });
  afterAll(async () => {
    await shard?.close();
    receiver?.close();
  });

  it('posts signed room and participant events, retrying a failed delivery', async () => {
    const client = await NodeParticipant.connect(shard.baseUrl);
    await client.join('hooked', 'Hook');
    const participantId = client.joined.participantId;
    await client.request('leave', {});
    client.close();

    const delivered = () => received.filter((r) => r.answered === 204).map((r) => r.event.event);
    await eventually(
      () => delivered(),
      (events) => events.length === 4,
    );
    expect(delivered().sort()).toEqual([
      'participant_joined',
      'participant_left',
      'room_finished',
      'room_started',
    ]);
    expect(received.every((r) => r.signatureValid)).toBe(true);

    // The joined event failed first and was delivered again, same id and body.
    const joined = received.filter((r) => r.event.event === 'participant_joined');
    expect(joined.map((r) => r.answered)).toEqual([500, 204]);
    expect(joined[1].event).toEqual(joined[0].event);
    expect(joined[1].event).toMatchObject({
      room: { name: 'hooked' },
      participant: { id: participantId, displayName: 'Hook', role: 'guest', door: 'socketio' },
    });
    const left = received.find((r) => r.event.event === 'participant_left')!.event;
    expect(left).toMatchObject({ participant: { id: participantId }, reason: 'left' });
    expect(new Set(received.map((r) => r.event.id)).size).toBe(4);

    const metrics = await (await fetch(`${shard.baseUrl}/metrics`)).text();
    expect(metrics).toContain('videowindow_webhook_attempts_total{result="delivered"} 4');
    expect(metrics).toContain('videowindow_webhook_attempts_total{result="retried"} 1');
  });

  it('signatures fail for a tampered body or another secret', () => {
    const { event } = received[0];
    const body = JSON.stringify(event);
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    expect(verifyWebhookSignature(SECRET, body, signature)).toBe(true);
    expect(verifyWebhookSignature(SECRET, body.replace('hooked', 'hacked'), signature)).toBe(false);
    expect(verifyWebhookSignature('another-secret-0123456789', body, signature)).toBe(false);
  });

  it('refuses webhook URLs without a signing secret', () => {
    const configDir = join(__dirname, '..', '..', 'config');
    const env = { NODE_ENV: 'test', WEBHOOK_URLS: 'http://127.0.0.1:9/hooks' };
    expect(() => loadConfig(env, configDir)).toThrow(/WEBHOOK_SECRET/);
    expect(() =>
      loadConfig({ ...env, WEBHOOK_URLS: 'ftp://x/', WEBHOOK_SECRET: SECRET }, configDir),
    ).toThrow(/webhooks\.urls/);
  });
});

describe('webhooks to a receiver that never answers', () => {
  let receiver: Server;
  let shard: TestShard;
  const hanging: string[] = [];

  beforeAll(async () => {
    receiver = createServer((request) => {
      hanging.push(String(request.headers['x-video-window-event']));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    shard = await startShard({
      WEBHOOK_URLS: `http://127.0.0.1:${port}/hooks`,
      WEBHOOK_SECRET: SECRET,
      // Longer than the test itself: waiting on a delivery would stall the join.
      WEBHOOK_TIMEOUT_MS: '600000',
    });
  });
  afterAll(async () => {
    await shard?.close();
    receiver?.closeAllConnections();
    receiver?.close();
  });

  it('never holds up signaling', async () => {
    const client = await NodeParticipant.connect(shard.baseUrl);
    await client.join('stalled', 'Patient');
    await client.request('chat', { text: 'still answering' });
    await client.request('leave', {});
    client.close();
    await eventually(
      () => hanging,
      (events) => events.includes('participant_left'),
    );
    expect(hanging).toEqual(
      expect.arrayContaining(['room_started', 'participant_joined', 'participant_left']),
    );
  });
});

describe('webhooks to receivers that misbehave', () => {
  /** How each receiver answers a delivery, by the URL's path. */
  const MISBEHAVIOURS: Record<string, (socket: Socket) => void> = {
    '/reset': (socket) => socket.resetAndDestroy(),
    '/garbage': (socket) => socket.end('NOT HTTP AT ALL\r\n\r\n'),
    '/hang': () => undefined,
    '/redirect-loop': (socket) =>
      socket.end('HTTP/1.1 302 Found\r\nLocation: /redirect-loop\r\nContent-Length: 0\r\n\r\n'),
    '/huge-headers': (socket) =>
      socket.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(200_000)}\r\n\r\n`),
    '/cut-body': (socket) => socket.end('HTTP/1.1 500 Oops\r\nContent-Length: 1000\r\n\r\npartial'),
  };
  const EVENTS = ['room_started', 'participant_joined', 'participant_left', 'room_finished'];
  let receiver: NetServer;
  let shard: ShardProcess;

  beforeAll(async () => {
    receiver = createNetServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (chunk: Buffer) => {
        const path = chunk.toString('latin1').split(' ')[1];
        MISBEHAVIOURS[path]?.(socket);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    const urls = Object.keys(MISBEHAVIOURS).map((path) => `http://127.0.0.1:${port}${path}`);
    // Nothing listens on port 9 (discard): connection refused.
    urls.push('http://127.0.0.1:9/refused');
    shard = await startShardProcess({
      env: {
        WEBHOOK_URLS: urls.join(','),
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_MAX_ATTEMPTS: '2',
        WEBHOOK_RETRY_BASE_MS: '20',
        WEBHOOK_TIMEOUT_MS: '500',
      },
    });
  });
  afterAll(async () => {
    await shard?.stop();
    receiver?.close();
  });

  const attempts = async (result: string) => {
    const metrics = await (await fetch(`${shard.url}/metrics`)).text();
    const match = new RegExp(
      `^videowindow_webhook_attempts_total{result="${result}"} (\\d+)$`,
      'm',
    );
    return Number(match.exec(metrics)?.[1] ?? 0);
  };

  it('retries, gives up, logs each delivery once and keeps running', async () => {
    const client = await NodeParticipant.connect(shard.url);
    await client.join('misbehaved', 'Hook');
    await client.request('leave', {});
    client.close();

    const deliveries = EVENTS.length * (Object.keys(MISBEHAVIOURS).length + 1);
    expect(
      await eventually(
        () => attempts('dropped'),
        (n) => n >= deliveries,
        15_000,
      ),
    ).toBe(deliveries);
    expect(await attempts('retried')).toBe(deliveries);
    expect(await attempts('delivered')).toBe(0);
    const givenUp = shard
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"webhook delivery failed for good"'));
    expect(givenUp).toHaveLength(deliveries);
    expect(shard.exited()).toBeUndefined();
    expect((await fetch(`${shard.url}/health/live`)).status).toBe(200);
  });
});
