/**
 * Live streaming of a room's composite to an RTMP server, received by a real one (ffmpeg
 * listening for RTMP, copying what it gets into an FLV file): the received file checked
 * with ffprobe and ffmpeg (H264 and AAC, frames decode, as long as the stream ran, both
 * participants' cameras in the grid, their tones in the mix); webhooks; bad URLs; and a
 * server that goes away or never was, which ends the stream without touching the call.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { eventually, NodeParticipant } from '../support/node-participant';
import { portalApi } from '../support/portal-api';
import { inspectRecording, meanVolume, pictureAt } from '../support/recorded-media';
import { startShard, TestShard } from '../support/shard';

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const ffmpegChildren = () => {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-x', 'ffmpeg'])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
};

const freeTcpPort = async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
};

/** Whether something listens on the TCP port (read from /proc: a probe would be its client). */
const listening = (port: number) =>
  readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((line) => {
      const [, local, , state] = line.trim().split(/\s+/);
      return (
        state === '0A' && local?.endsWith(`:${port.toString(16).toUpperCase().padStart(4, '0')}`)
      );
    });

/** ffmpeg as an RTMP server: it takes one stream and copies it into `file`. */
async function rtmpReceiver(file: string) {
  const port = await freeTcpPort();
  const process: ChildProcess = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-listen', '1', '-timeout', '60'],
      ...['-f', 'flv', '-i', `rtmp://127.0.0.1:${port}/live/secret-key`],
      ...['-c', 'copy', '-y', file],
    ],
    { stdio: 'ignore' },
  );
  const exited = once(process, 'exit');
  await eventually(
    async () => listening(port),
    (yes) => yes,
  );
  return { url: `rtmp://127.0.0.1:${port}/live/secret-key`, port, process, exited };
}

describe('streaming a room to an RTMP server', () => {
  let shard: TestShard;
  let directory: string;
  let hookReceiver: WebhookReceiver;
  let authorization: string;
  const clients: NodeParticipant[] = [];

  const admin = async (method: string, path: string, payload?: unknown) => {
    const response = await fetch(`${shard.baseUrl}/api/v1/admin${path}`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const body: any = await response.json();
    return { status: response.status, body };
  };
  const participant = async (room: string, name: string) => {
    const client = await NodeParticipant.connect(shard.baseUrl);
    clients.push(client);
    await client.join(room, name);
    await client.publish();
    return client;
  };
  const finishedHook = (room: string) =>
    eventually(
      async () =>
        hookReceiver.hooks.find((h) => h.event === 'streaming_finished' && h.room.name === room),
      (found) => found !== undefined,
    );

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'vw-streaming-'));
    hookReceiver = await startWebhookReceiver();
    shard = await startShard({
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      WEBHOOK_URLS: hookReceiver.url,
      WEBHOOK_SECRET: 'streaming-webhook-secret-0123',
    });
    authorization = `Bearer ${(await portalApi(() => shard).login(ADMIN)).body.accessToken}`;
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await shard?.close();
    hookReceiver?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('streams the grid and the mixed audio; the server gets all of it', async () => {
    await participant('live', 'A');
    await participant('live', 'B');
    const before = (await admin('GET', '/shard')).body.media;
    const file = join(directory, 'received.flv');
    const receiver = await rtmpReceiver(file);

    const started = await admin('POST', '/rooms/live/streaming', { url: receiver.url });
    expect(started.status).toBe(201);
    const startedAt = Date.now();
    expect(started.body).toMatchObject({
      room: 'live',
      state: 'streaming',
      startedBy: 'admin',
      destination: `rtmp://127.0.0.1:${receiver.port}/live/…`,
    });
    expect(JSON.stringify(started.body)).not.toContain('secret-key');
    await sleep(8000);
    const stopped = await admin('DELETE', '/rooms/live/streaming');
    const wall = (Date.now() - startedAt) / 1000;
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({
      id: started.body.id,
      state: 'finished',
      reason: 'stopped',
    });
    // The server saw the stream end and finished its file.
    await receiver.exited;

    const media = await inspectRecording(file);
    expect(media.codecs).toEqual(['h264', 'aac']);
    expect(media.decodeErrors).toBe('');
    const within = media.durationSeconds > wall * 0.85 && media.durationSeconds < wall * 1.1;
    expect(within ? 'as long as the stream' : { media, wall }).toBe('as long as the stream');
    expect(media.decodedFrames).toBeGreaterThan(media.durationSeconds * 14);
    // A and B side by side (each 4:3 camera fitted into a 640x720 half), tones mixed.
    const picture = await pictureAt(file, media.durationSeconds - 1);
    expect([picture.width, picture.height]).toEqual([1280, 720]);
    expect([picture.blueAt(320, 360), picture.blueAt(960, 360)].every((u) => u < 64)).toBe(true);
    expect(
      await meanVolume(file, media.durationSeconds - 3, media.durationSeconds),
    ).toBeGreaterThan(-30);

    const hook = (event: string) =>
      hookReceiver.hooks.find((h) => h.event === event && h.room.name === 'live');
    await finishedHook('live');
    expect(hook('streaming_started')).toMatchObject({ streaming: { id: started.body.id } });
    expect(hook('streaming_finished')).toMatchObject({
      reason: 'stopped',
      streaming: { id: started.body.id, state: 'finished' },
    });
    // Its decoders' transports and processes are gone.
    expect((await admin('GET', '/shard')).body.media.transports).toBe(before.transports);
    expect(ffmpegChildren()).toEqual([]);
  });

  it('refuses URLs other than rtmp:// and rtmps://, a room that does not exist, a second start', async () => {
    await participant('checked', 'C');
    const refused = async (url: unknown) => {
      const answer = await admin('POST', '/rooms/checked/streaming', { url });
      return { url: typeof url === 'string' ? url.slice(0, 40) : url, status: answer.status };
    };
    for (const url of [
      'file:///etc/passwd',
      'http://127.0.0.1/live/x',
      'rtmp://',
      'rtmp://host',
      'rtmp://host/live/key with spaces',
      `rtmp://host/live/${'k'.repeat(2000)}`,
      42,
      undefined,
    ]) {
      expect(await refused(url)).toEqual({
        url: typeof url === 'string' ? url.slice(0, 40) : url,
        status: 400,
      });
    }
    const missing = await admin('POST', '/rooms/nowhere/streaming', { url: 'rtmp://h/live/x' });
    expect(missing).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect((await admin('DELETE', '/rooms/checked/streaming')).status).toBe(404);

    const receiver = await rtmpReceiver(join(directory, 'twice.flv'));
    expect((await admin('POST', '/rooms/checked/streaming', { url: receiver.url })).status).toBe(
      201,
    );
    const second = await admin('POST', '/rooms/checked/streaming', { url: receiver.url });
    expect(second).toMatchObject({ status: 409, body: { error: 'conflict' } });
    expect((await admin('DELETE', '/rooms/checked/streaming')).status).toBe(200);
    await receiver.exited;
  });

  it('ends the stream (stream_failed) when the server goes away or refuses; the call goes on', async () => {
    const d = await participant('fragile', 'D');
    const e = await participant('fragile', 'E');
    const receiver = await rtmpReceiver(join(directory, 'cut.flv'));
    expect((await admin('POST', '/rooms/fragile/streaming', { url: receiver.url })).status).toBe(
      201,
    );
    await sleep(3000);
    receiver.process.kill('SIGKILL');
    const gone = await finishedHook('fragile');
    expect(gone).toMatchObject({ reason: 'stream_failed', streaming: { state: 'finished' } });
    expect(gone!.streaming!.problem).toBeTruthy();
    // D still gets E's video, and may stream again.
    const decoded = async () =>
      (await d.receiveStats())[e.joined.participantId]?.framesDecoded ?? 0;
    const then = await decoded();
    await eventually(decoded, (frames) => frames > then + 15);
    expect(await d.request('chat', { text: 'still here' })).toMatchObject({ text: 'still here' });

    // Nobody listens there at all.
    hookReceiver.hooks.length = 0;
    const closed = await freeTcpPort();
    const url = `rtmp://127.0.0.1:${closed}/live/x`;
    expect((await admin('POST', '/rooms/fragile/streaming', { url })).status).toBe(201);
    expect(await finishedHook('fragile')).toMatchObject({ reason: 'stream_failed' });
    await eventually(
      async () => ffmpegChildren(),
      (pids) => pids.length === 0,
    );
  });
});
