/**
 * The bridge channel's ReceiverVideoConstraints as pauses and simulcast layers of a
 * Jitsi client's video consumers, on the messages lib-jitsi-meet sends.
 */
import {
  allocate,
  layerFor,
  ReceivedVideo,
  receiverVideoConstraints,
} from '../../src/signaling/xmpp/focus/receiver-constraints';

const videos: ReceivedVideo[] = [
  { consumerId: 'c-ann', endpoint: 'ann', sourceName: 'ann-v0' },
  { consumerId: 'c-ben', endpoint: 'ben', sourceName: 'ben-v0' },
  { consumerId: 'c-cat', endpoint: 'cat', sourceName: 'cat-v0' },
];

const byConsumer = (allocations: ReturnType<typeof allocate>) =>
  Object.fromEntries(allocations.map(({ consumerId, ...rest }) => [consumerId, rest]));

describe('receiver video constraints', () => {
  it('maps a height to the highest layer no taller (LD 180, SD 360, HD 720), 0 to none', () => {
    expect([0, 1, 179, 180, 359, 360, 719, 720, 2160, -1].map(layerFor)).toEqual([
      undefined,
      0,
      0,
      0,
      0,
      1,
      1,
      2,
      2,
      2,
    ]);
  });

  it('sends everything at the highest layer without constraints', () => {
    expect(byConsumer(allocate(undefined, videos, []))).toEqual({
      'c-ann': { paused: false, spatialLayer: 2 },
      'c-ben': { paused: false, spatialLayer: 2 },
      'c-cat': { paused: false, spatialLayer: 2 },
    });
  });

  it('takes a source constraint over an endpoint one over the default', () => {
    // As lib-jitsi-meet 2.6726 sends it for a stage view (endpoint ids), plus a source name.
    const constraints = receiverVideoConstraints.parse({
      colibriClass: 'ReceiverVideoConstraints',
      lastN: -1,
      onStageEndpoints: ['ann'],
      selectedEndpoints: [],
      defaultConstraints: { maxHeight: 180 },
      constraints: {
        ann: { maxHeight: 2160 },
        ben: { maxHeight: 720 },
        'ben-v0': { maxHeight: 0 },
      },
    });
    expect(byConsumer(allocate(constraints, videos, []))).toEqual({
      'c-ann': { paused: false, spatialLayer: 2 },
      'c-ben': { paused: true },
      'c-cat': { paused: false, spatialLayer: 0 },
    });
  });

  it('lets lastN videos through: on stage, then selected, then the recent speakers', () => {
    const allocation = (message: object, speakers: string[]) =>
      byConsumer(allocate(receiverVideoConstraints.parse(message), videos, speakers));
    expect(allocation({ lastN: 1 }, ['cat', 'ann'])).toEqual({
      'c-ann': { paused: true },
      'c-ben': { paused: true },
      'c-cat': { paused: false, spatialLayer: 2 },
    });
    expect(allocation({ lastN: 2, onStageSources: ['ben-v0'] }, ['cat', 'ann'])).toEqual({
      'c-ann': { paused: true },
      'c-ben': { paused: false, spatialLayer: 2 },
      'c-cat': { paused: false, spatialLayer: 2 },
    });
    expect(allocation({ lastN: 0 }, [])).toEqual({
      'c-ann': { paused: true },
      'c-ben': { paused: true },
      'c-cat': { paused: true },
    });
  });

  it('refuses messages of the wrong shape', () => {
    for (const bad of [
      { lastN: 'all' },
      { constraints: [] },
      { defaultConstraints: { maxHeight: 1e99 } },
      { onStageEndpoints: 'ann' },
      { constraints: { ann: { maxHeight: '720' } } },
    ])
      expect(receiverVideoConstraints.safeParse(bad).success).toBe(false);
  });
});
