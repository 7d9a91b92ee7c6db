/** GET /metrics in Prometheus text format, before and after a two-person call. */
import { eventually, NodeParticipant } from '../support/node-participant';
import { startShard, TestShard } from '../support/shard';

/** The value of an unlabelled sample, e.g. `videowindow_participants 2`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const COUNTS = [
  'rooms',
  'participants',
  'transports',
  'producers',
  'consumers',
  'socketio_connections',
  'join_duration_seconds_count',
];

/** The shard's counts, by name without the videowindow_ prefix. */
const counts = (text: string) =>
  Object.fromEntries(COUNTS.map((name) => [name, sample(text, `videowindow_${name}`)]));

describe('GET /metrics', () => {
  let shard: TestShard;
  const clients: NodeParticipant[] = [];

  async function scrape() {
    const response = await fetch(`${shard.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  }

  beforeAll(async () => {
    shard = await startShard({ MEDIASOUP_NUM_WORKERS: '2' });
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await shard.close();
  });

  it('counts rooms, participants, media objects, connections and joins', async () => {
    const before = await scrape();
    expect(counts(before)).toEqual(Object.fromEntries(COUNTS.map((name) => [name, 0])));
    expect(sample(before, 'videowindow_mediasoup_workers')).toBe(2);
    expect(
      before.match(/^videowindow_mediasoup_worker_cpu_seconds_total\{pid="\d+"\} /gm),
    ).toHaveLength(2);
    expect(sample(before, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(before, 'videowindow_bitrate_bps{direction="in"}')).toBe(0);
    expect(sample(before, 'videowindow_bitrate_bps{direction="out"}')).toBe(0);

    for (const name of ['A', 'B']) {
      const client = await NodeParticipant.connect(shard.baseUrl);
      clients.push(client);
      await client.join('measured', name);
      await client.publish();
    }
    // Each participant consumes the other's two producers once they are announced.
    const after = await eventually(scrape, (text) => sample(text, 'videowindow_consumers') === 4);

    expect(counts(after)).toEqual({
      rooms: 1,
      participants: 2,
      transports: 4,
      producers: 4,
      consumers: 4,
      socketio_connections: 2,
      join_duration_seconds_count: 2,
    });
    expect(sample(after, 'videowindow_join_duration_seconds_sum')).toBeGreaterThan(0);
    // Requests by method: each joined once and consumed the other's two producers.
    expect(sample(after, 'videowindow_socketio_requests_total{method="join"}')).toBe(2);
    expect(sample(after, 'videowindow_socketio_requests_total{method="consume"}')).toBe(4);

    // Both publish audio and video, and each forwards the other's: media flows both ways.
    const flowing = await eventually(
      scrape,
      (text) =>
        sample(text, 'videowindow_bitrate_bps{direction="in"}')! > 50_000 &&
        sample(text, 'videowindow_bitrate_bps{direction="out"}')! > 50_000,
    );
    expect(sample(flowing, 'videowindow_bitrate_bps{direction="in"}')).toBeGreaterThan(50_000);
    expect(sample(flowing, 'videowindow_bitrate_bps{direction="out"}')).toBeGreaterThan(50_000);
  });
});
