import type { types } from 'mediasoup';
import { ShardPipes } from '../../src/cascade/shard-pipes';
import type { RemoteProducer } from '../../src/media/media-events';
import type { RoomMedia } from '../../src/media/room-media';

/** A pipe producer whose received bytes the test sets. */
function pipeProducer(id: string) {
  const producer = {
    id,
    paused: false,
    closed: false,
    bytes: 0,
    getStats: async () => [{ byteCount: producer.bytes }],
  };
  return producer;
}

function setup() {
  const remote: RemoteProducer = {
    id: 'p1',
    participantId: 'ann',
    kind: 'video',
    source: 'camera',
    paused: false,
    shard: 'shard-a',
  };
  const piped = [pipeProducer('p1')];
  const media = {
    remoteProducers: () => [remote],
    pipedProducers: async () => piped as unknown as types.Producer[],
  } as unknown as RoomMedia;
  const signaling = {
    open: jest.fn(),
    consume: jest.fn(),
    addressOf: () => '127.0.0.1',
  };
  const pipes = new ShardPipes(media, signaling, {
    ip: '127.0.0.1',
    announcedAddress: '127.0.0.1',
    portRange: { min: 40000, max: 40100 },
  });
  return { pipes, remote, piped };
}

describe('ShardPipes.stalledShards (a pipe that stalls is found)', () => {
  it('names the shard whose stream received nothing for two checks while its producer sends', async () => {
    const { pipes, piped } = setup();
    expect(await pipes.stalledShards(0)).toEqual([]);
    piped[0].bytes = 1000;
    expect(await pipes.stalledShards(0)).toEqual([]);
    expect(await pipes.stalledShards(0)).toEqual([]); // one still check: not yet
    expect(await pipes.stalledShards(0)).toEqual(['shard-a']);
  });

  it('takes a rebuilt pipe producer (same id, from zero bytes) for a new stream', async () => {
    const { pipes, piped } = setup();
    piped[0].bytes = 5000;
    await pipes.stalledShards(0);
    piped[0] = pipeProducer('p1');
    expect(await pipes.stalledShards(0)).toEqual([]);
    piped[0].bytes = 100;
    expect(await pipes.stalledShards(0)).toEqual([]);
  });

  it('leaves paused producers alone, and does not count checks that come too soon', async () => {
    const { pipes, remote } = setup();
    remote.paused = true;
    for (let i = 0; i < 4; i++) expect(await pipes.stalledShards(0)).toEqual([]);
    remote.paused = false;
    for (let i = 0; i < 4; i++) expect(await pipes.stalledShards(60_000)).toEqual([]);
  });
});
