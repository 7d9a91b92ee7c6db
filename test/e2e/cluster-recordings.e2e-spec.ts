/**
 * Recordings across a cluster (two shard processes, HAProxy, Redis, PostgreSQL), each
 * shard with its own recordings directory: any shard lists every shard's recordings, and
 * shows, downloads and deletes one that another shard has.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordingInfo } from '../../src/recording/recording-info';
import { joinThroughProxy, startCluster, TestCluster } from '../support/cluster';
import type { NodeParticipant } from '../support/node-participant';
import { inspectRecording } from '../support/recorded-media';

jest.setTimeout(120_000);

const ADMIN = { email: 'admin@example.com', password: 'cluster-admin-password' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('cluster: recordings of every shard from any shard', () => {
  let cluster: TestCluster;
  let root: string;
  let token: string;
  const open: NodeParticipant[] = [];
  const directoryOf = (shardId: string) => join(root, shardId);
  const shardUrl = (id: string) => cluster.shard(id).process!.url;
  const admin = async (base: string, method: string, path: string, auth = true) => {
    const response = await fetch(`${base}/api/v1/admin${path}`, {
      method,
      headers: auth ? { authorization: `Bearer ${token}` } : {},
    });
    const json = response.headers.get('content-type')?.includes('json');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const body: any = json ? await response.json() : Buffer.from(await response.arrayBuffer());
    return { status: response.status, body, headers: response.headers };
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vw-cluster-recordings-'));
    cluster = await startCluster({
      regions: ['default', 'default'],
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        RECORDING_MIN_FREE_MB: '1',
        // One participant of a room per shard: a room's second one spills over.
        ROOM_SPAN: 'true',
        SPAN_SHARD_ROOM_SIZE: '1',
        SPAN_MAX_SHARD_CPU: '8',
      },
      shardEnv: (shard) => ({ RECORDINGS_DIR: directoryOf(shard.id) }),
    });
    const login = await fetch(`${cluster.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    token = ((await login.json()) as { accessToken: string }).accessToken;
  });
  afterAll(async () => {
    open.forEach((participant) => participant.close());
    await cluster?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('lists, shows, downloads and deletes a recording from a shard that does not have it', async () => {
    // A room on each shard, each recorded through the proxy (the room's shard records it).
    const roomOf: Record<string, string> = {};
    for (let i = 0; Object.keys(roomOf).length < 2 && i < 6; i++) {
      const room = `taped-${i}`;
      const { participant, joined } = await joinThroughProxy(cluster.url, room, `In ${room}`);
      open.push(participant);
      if (roomOf[joined.shard]) continue;
      await participant.publish();
      roomOf[joined.shard] = room;
    }
    expect(Object.keys(roomOf).sort()).toEqual(['shard1', 'shard2']);
    for (const room of Object.values(roomOf)) {
      expect((await admin(cluster.url, 'POST', `/rooms/${room}/recording`)).status).toBe(201);
    }
    await sleep(3000);
    const recordingOf: Record<string, RecordingInfo> = {};
    for (const [shard, room] of Object.entries(roomOf)) {
      const stopped = await admin(cluster.url, 'DELETE', `/rooms/${room}/recording`);
      expect(stopped.status).toBe(200);
      expect(stopped.body).toMatchObject({ room, shard, state: 'finished', storage: 'local' });
      recordingOf[shard] = stopped.body as RecordingInfo;
    }

    // Each shard lists both, newest first.
    const everyone = Object.values(recordingOf).sort((a, b) =>
      b.startedAt.localeCompare(a.startedAt),
    );
    for (const shard of ['shard1', 'shard2']) {
      const listed = await admin(shardUrl(shard), 'GET', '/recordings');
      expect({ shard, status: listed.status }).toEqual({ shard, status: 200 });
      expect(listed.body).toEqual(everyone);
    }
    expect((await admin(shardUrl('shard1'), 'GET', '/recordings', false)).status).toBe(401);

    // shard1 answers for shard2's recording.
    const elsewhere = recordingOf.shard2;
    const asked = shardUrl('shard1');
    expect((await admin(asked, 'GET', `/recordings/${elsewhere.id}`)).body).toEqual(elsewhere);
    for (const track of elsewhere.tracks) {
      const downloaded = await admin(
        asked,
        'GET',
        `/recordings/${elsewhere.id}/files/${track.file}`,
      );
      expect(downloaded.status).toBe(200);
      expect(downloaded.headers.get('content-disposition')).toContain(track.file);
      const original = await readFile(join(directoryOf('shard2'), elsewhere.id, track.file));
      expect(Buffer.compare(downloaded.body as Buffer, original)).toBe(0);
      const copy = join(root, track.file);
      await writeFile(copy, downloaded.body as Buffer);
      expect((await inspectRecording(copy)).decodeErrors).toBe('');
    }
    const missingFile = await admin(asked, 'GET', `/recordings/${elsewhere.id}/files/x.webm`);
    expect(missingFile.status).toBe(404);
    expect(missingFile.body).toMatchObject({ error: 'not_found' });
    const anonymous = await admin(
      asked,
      'GET',
      `/recordings/${elsewhere.id}/files/${elsewhere.tracks[0].file}`,
      false,
    );
    expect(anonymous.status).toBe(401);

    expect((await admin(asked, 'DELETE', `/recordings/${elsewhere.id}`)).status).toBe(204);
    await expect(stat(join(directoryOf('shard2'), elsewhere.id))).rejects.toThrow();
    for (const shard of ['shard1', 'shard2']) {
      expect((await admin(shardUrl(shard), 'GET', `/recordings/${elsewhere.id}`)).status).toBe(404);
      expect((await admin(shardUrl(shard), 'GET', '/recordings')).body).toEqual([
        recordingOf.shard1,
      ]);
    }
    const nowhere = await admin(asked, 'DELETE', `/recordings/${elsewhere.id}`);
    expect(nowhere.status).toBe(404);
    expect(nowhere.body).toMatchObject({ error: 'not_found' });
  });

  it("records everyone of a room spanning shards, on the room's shard", async () => {
    const room = 'taped-across';
    const people: { shard: string; id: string }[] = [];
    for (const name of ['Near', 'Far']) {
      const { participant, joined } = await joinThroughProxy(cluster.url, room, name);
      open.push(participant);
      await participant.publish();
      people.push({ shard: joined.shard, id: joined.participantId });
    }
    expect(people.map((p) => p.shard).sort()).toEqual(['shard1', 'shard2']);
    expect((await admin(cluster.url, 'POST', `/rooms/${room}/recording`)).status).toBe(201);
    await sleep(3000);
    const stopped = await admin(cluster.url, 'DELETE', `/rooms/${room}/recording`);
    expect(stopped.status).toBe(200);
    const recording = stopped.body as RecordingInfo;
    // Both participants' microphone and camera, whichever shard serves them.
    const tracks = recording.tracks.map((t) => `${t.participant.displayName} ${t.kind}`).sort();
    expect(tracks).toEqual(['Far audio', 'Far video', 'Near audio', 'Near video']);
    for (const track of recording.tracks.filter((t) => t.kind === 'video')) {
      const file = join(directoryOf(recording.shard), recording.id, track.file);
      const media = await inspectRecording(file);
      expect(media.decodedFrames).toBeGreaterThan(0);
      expect(media.decodeErrors).toBe('');
    }
  });
});
