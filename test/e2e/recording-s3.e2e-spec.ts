/**
 * Recordings kept in an S3-compatible bucket (s3rver, a real S3 HTTP server, started
 * here): a recorded call's files (per-track and composite) are uploaded and removed
 * locally, listed, downloaded (and played) and deleted through the admin API; a bucket
 * that is down keeps the files local and says so in the webhook, a shard starts without
 * it, and the upload is done at a start when the bucket answers again.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingInfo } from '../../src/recording/recording-info';
import { eventually, NodeParticipant } from '../support/node-participant';
import { portalApi } from '../support/portal-api';
import { inspectRecording } from '../support/recorded-media';
import { startS3Server, TestS3Server } from '../support/s3-server';
import { startShard, TestShard } from '../support/shard';
import { startWebhookReceiver, WebhookReceiver } from '../support/webhook-receiver';

jest.setTimeout(120_000);

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };
const PREFIX = 'video-window/';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('recordings in an S3-compatible bucket', () => {
  let s3: TestS3Server;
  let shard: TestShard;
  let directory: string;
  let scratch: string;
  let receiver: WebhookReceiver;
  let authorization: string;
  const clients: NodeParticipant[] = [];

  const startTheShard = async () => {
    shard = await startShard({
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      RECORDINGS_DIR: directory,
      RECORDING_MIN_FREE_MB: '1',
      RECORDING_COMPOSITE: 'true',
      WEBHOOK_URLS: receiver.url,
      WEBHOOK_SECRET: 'recording-webhook-secret-0123',
      ...s3.env(PREFIX),
    });
    authorization = `Bearer ${(await portalApi(() => shard).login(ADMIN)).body.accessToken}`;
  };
  const admin = async (method: string, path: string) => {
    const response = await fetch(`${shard.baseUrl}/api/v1/admin${path}`, {
      method,
      headers: { authorization },
    });
    const json = response.headers.get('content-type')?.includes('json');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const body: any = json ? await response.json() : Buffer.from(await response.arrayBuffer());
    return { status: response.status, body, headers: response.headers };
  };
  /** A call of one participant (camera and microphone), recorded for about three seconds. */
  const recordCall = async (room: string): Promise<RecordingInfo> => {
    const client = await NodeParticipant.connect(shard.baseUrl);
    clients.push(client);
    await client.join(room, 'Alice');
    await client.publish();
    const started = await admin('POST', `/rooms/${room}/recording`);
    expect(started.status).toBe(201);
    await sleep(3000);
    const stopped = await admin('DELETE', `/rooms/${room}/recording`);
    expect(stopped.status).toBe(200);
    client.close();
    return stopped.body as RecordingInfo;
  };
  const finishedHook = (id: string) =>
    eventually(
      () => receiver.hooks.find((h) => h.event === 'recording_finished' && h.recording?.id === id),
      (hook) => hook !== undefined,
    );
  /** Downloads each file through the admin API and plays it. */
  const expectPlayable = async (recording: RecordingInfo) => {
    const files = [...recording.tracks.map((t) => t.file), recording.composite!.file];
    for (const file of files) {
      const downloaded = await admin('GET', `/recordings/${recording.id}/files/${file}`);
      expect({ file, status: downloaded.status }).toEqual({ file, status: 200 });
      expect(downloaded.headers.get('content-disposition')).toContain(file);
      const copy = join(scratch, file);
      await writeFile(copy, downloaded.body as Buffer);
      const media = await inspectRecording(copy);
      expect({ file, decodeErrors: media.decodeErrors }).toEqual({ file, decodeErrors: '' });
      expect(media.durationSeconds).toBeGreaterThan(1);
      expect(media.decodedFrames).toBeGreaterThan(0);
    }
  };

  beforeAll(async () => {
    s3 = await startS3Server();
    directory = await mkdtemp(join(tmpdir(), 'vw-recordings-s3-'));
    scratch = await mkdtemp(join(tmpdir(), 'vw-recordings-s3-downloads-'));
    receiver = await startWebhookReceiver();
    await startTheShard();
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await shard?.close();
    receiver?.close();
    await s3?.close();
    await rm(directory, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  });

  it('uploads a finished recording, serves it from the bucket and deletes it there', async () => {
    const recording = await recordCall('bucketed');
    expect(recording).toMatchObject({ state: 'finished', storage: 's3' });
    expect(recording.storageProblem).toBeUndefined();
    expect(recording.tracks.map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    expect(recording.composite).toMatchObject({ file: 'composite.mp4' });

    // Every file and the manifest are objects; nothing is left in the recordings directory.
    const files = [...recording.tracks.map((t) => t.file), 'composite.mp4', 'recording.json'];
    expect(await s3.keys(PREFIX)).toEqual(
      files.map((file) => `${PREFIX}${recording.id}/${file}`).sort(),
    );
    expect(await readdir(directory)).toEqual([]);
    expect((await finishedHook(recording.id))!.recording).toMatchObject({
      id: recording.id,
      storage: 's3',
    });

    const listed = await admin('GET', '/recordings');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([recording]);
    expect((await admin('GET', `/recordings/${recording.id}`)).body).toEqual(recording);
    await expectPlayable(recording);
    // Only the files the manifest lists, and only with credentials.
    expect((await admin('GET', `/recordings/${recording.id}/files/recording.json`)).status).toBe(
      404,
    );
    expect((await admin('GET', `/recordings/${recording.id}/files/nothing.webm`)).status).toBe(404);
    const anonymous = await fetch(
      `${shard.baseUrl}/api/v1/admin/recordings/${recording.id}/files/composite.mp4`,
    );
    expect(anonymous.status).toBe(401);

    expect((await admin('DELETE', `/recordings/${recording.id}`)).status).toBe(204);
    expect(await s3.keys(PREFIX)).toEqual([]);
    expect((await admin('GET', `/recordings/${recording.id}`)).status).toBe(404);
    expect((await admin('GET', '/recordings')).body).toEqual([]);
    expect((await admin('DELETE', `/recordings/${recording.id}`)).status).toBe(404);
  });

  it('keeps the files local when the bucket is down, and uploads them once it answers', async () => {
    await s3.stop();
    const recording = await recordCall('unbucketed');
    expect(recording).toMatchObject({ state: 'finished', storage: 'local' });
    expect(recording.storageProblem).toMatch(/^upload to bucket recordings failed: /);
    expect((await finishedHook(recording.id))!.recording).toMatchObject({
      storage: 'local',
      storageProblem: recording.storageProblem,
    });
    const kept = (await readdir(join(directory, recording.id))).sort();
    expect(kept).toEqual(
      [...recording.tracks.map((t) => t.file), 'composite.mp4', 'recording.json'].sort(),
    );
    // Served from the directory meanwhile; a list that needs the bucket says it does not answer.
    expect((await admin('GET', `/recordings/${recording.id}`)).body).toEqual(recording);
    await expectPlayable(recording);
    const list = await admin('GET', '/recordings');
    expect(list.status).toBe(503);
    expect(list.body).toMatchObject({ error: 'unavailable' });
    expect(list.body.message).toMatch(/the recordings bucket does not answer/);

    // A shard starts (and is ready) with its bucket down.
    await shard.close();
    await startTheShard();
    expect((await fetch(`${shard.baseUrl}/health/ready`)).status).toBe(200);
    expect((await admin('GET', `/recordings/${recording.id}`)).body).toMatchObject({
      storage: 'local',
    });

    // The bucket is back: the next start uploads what stayed local.
    await s3.start();
    await shard.close();
    await startTheShard();
    const uploaded = await eventually(
      () => admin('GET', `/recordings/${recording.id}`),
      (answer) => answer.body?.storage === 's3',
    );
    expect(uploaded.body.storageProblem).toBeUndefined();
    expect(await readdir(directory)).toEqual([]);
    expect((await admin('GET', '/recordings')).body).toEqual([uploaded.body]);
    await expectPlayable(uploaded.body as RecordingInfo);
    expect((await admin('DELETE', `/recordings/${recording.id}`)).status).toBe(204);
    expect(await s3.keys(PREFIX)).toEqual([]);
  });
});
