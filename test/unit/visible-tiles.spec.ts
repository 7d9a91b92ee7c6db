/** The web client's choice of which videos to receive and at which layer (no browser). */
import {
  layerFor,
  ReceivedVideos,
  spatialLayersOf,
  tileOrder,
  type VideoConsumer,
} from '../../src/web/client/visible-tiles';

describe('large rooms in the web client', () => {
  it('orders tiles: pinned, then the last N speakers (most recent first), then by arrival', () => {
    const joined = ['a', 'b', 'c', 'd', 'e'];
    expect(tileOrder(joined, [], 2)).toEqual(joined);
    expect(tileOrder(joined, ['d', 'b', 'e'], 2)).toEqual(['d', 'b', 'a', 'c', 'e']);
    expect(tileOrder(joined, ['d', 'b'], 2, 'e')).toEqual(['e', 'd', 'b', 'a', 'c']);
    // The pinned one who also spoke comes once; someone gone is left out.
    expect(tileOrder(joined, ['e', 'gone'], 2, 'e')).toEqual(['e', 'a', 'b', 'c', 'd']);
  });

  it('picks the lowest layer at least as tall as the tile', () => {
    expect(spatialLayersOf({ encodings: [{ scalabilityMode: 'L3T3' }] })).toBe(3);
    expect(spatialLayersOf({ encodings: [{}] })).toBe(1);
    // Three layers of a 720p camera: 180, 360 and 720 lines.
    expect([90, 180, 181, 360, 500, 1080].map((h) => layerFor(h, 3))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(layerFor(100, 2)).toBe(0);
    expect(layerFor(400, 2)).toBe(1);
    expect(layerFor(1000, 1)).toBe(0);
  });

  it('resumes the shown videos and screens (at most the cap), pauses the rest, pauses first', async () => {
    const calls: string[] = [];
    const server = {
      pause: async (id: string) => calls.push(`pause ${id}`),
      resume: async (id: string) => calls.push(`resume ${id}`),
      setLayer: async (id: string, layer: number) => calls.push(`layer ${id} ${layer}`),
    };
    const consumers: VideoConsumer[] = [
      { id: 'ca', memberId: 'a', screen: false, spatialLayers: 3 },
      { id: 'cb', memberId: 'b', screen: false, spatialLayers: 3 },
      { id: 'cc', memberId: 'c', screen: false, spatialLayers: 1 },
      { id: 'sc', memberId: 'c', screen: true, spatialLayers: 1 },
    ];
    const videos = new ReceivedVideos(server, () => consumers, 2);
    videos.show(
      new Map([
        ['a', 180],
        ['b', 700],
        ['c', 180],
      ]),
    );
    await videos.sync();
    // The screen first, then the shown tiles in order, up to two.
    expect(calls.sort()).toEqual(['layer ca 0', 'resume ca', 'resume sc'].sort());
    expect(['ca', 'cb', 'cc', 'sc'].map((id) => videos.isResumed(id))).toEqual([
      true,
      false,
      false,
      true,
    ]);

    calls.length = 0;
    videos.show(new Map([['b', 700]]));
    await videos.sync();
    expect(calls).toEqual(['pause ca', 'layer cb 2', 'resume cb']);

    // A refused resume (the server's cap) leaves it paused, to be tried again.
    calls.length = 0;
    server.resume = async (id: string) => {
      calls.push(`refused ${id}`);
      throw Object.assign(new Error('too many'), { code: 'too_many_videos' });
    };
    videos.setMaxVideos(3);
    videos.show(
      new Map([
        ['a', 180],
        ['b', 700],
      ]),
    );
    await videos.sync();
    expect(videos.isResumed('ca')).toBe(false);
    expect(calls).toContain('refused ca');
  });
});
