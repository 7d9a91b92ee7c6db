/**
 * Large rooms: the client receives video only for the tiles it shows. The view decides
 * what is shown (a page of the grid, the part of a strip in view) and at what size; this
 * module orders the tiles (pinned, then the last N speakers, then everyone else), sizes
 * the grid's pages, picks the simulcast layer fitting each tile, and keeps the server's
 * consumers in step: hidden ones paused, shown ones resumed at their layer.
 */
import type { VideoLimits } from '../../signaling/socketio/protocol';

/** The smallest tile a page of the grid shrinks its tiles to before it starts another page. */
export const MIN_PAGE_TILE = { width: 240, height: 135 };

/**
 * The height a camera's top simulcast layer is taken to have (the web client sends 1/4,
 * 1/2 and full resolution): a tile gets the lowest layer at least as tall as itself.
 */
const NOMINAL_CAMERA_HEIGHT = 720;

/** Before the join answer says otherwise. */
export const DEFAULT_VIDEO_LIMITS: VideoLimits = { maxVideos: 25, lastN: 4 };

/**
 * The order of the remote tiles: the pinned one, then the `lastN` most recent speakers
 * (most recent first), then everyone else in the order they came.
 */
export function tileOrder(
  joined: string[],
  recentSpeakers: string[],
  lastN: number,
  pinned?: string,
): string[] {
  const present = new Set(joined);
  const first = [pinned, ...recentSpeakers.slice(0, lastN)].filter(
    (id): id is string => id !== undefined && present.has(id),
  );
  const leading = [...new Set(first)];
  return [...leading, ...joined.filter((id) => !leading.includes(id))];
}

/** The simulcast spatial layers a consumer's RTP parameters announce (`L3T3`: 3). */
export function spatialLayersOf(rtpParameters: {
  encodings?: { scalabilityMode?: string }[];
}): number {
  const mode = rtpParameters.encodings?.[0]?.scalabilityMode ?? '';
  return Number(/^[LS](\d+)/.exec(mode)?.[1] ?? 1);
}

/** The lowest spatial layer at least as tall as a tile `height` device pixels tall. */
export function layerFor(height: number, spatialLayers: number): number {
  for (let layer = 0; layer < spatialLayers - 1; layer++) {
    const layerHeight = NOMINAL_CAMERA_HEIGHT / 2 ** (spatialLayers - 1 - layer);
    if (layerHeight >= height) return layer;
  }
  return spatialLayers - 1;
}

/** A video consumer of the call, as ReceivedVideos needs it. */
export interface VideoConsumer {
  id: string;
  memberId: string;
  screen: boolean;
  /** 1 for a single stream (no layers to choose). */
  spatialLayers: number;
}

/** The server requests ReceivedVideos makes (the socket.io ones in the web client). */
export interface VideoRequests {
  pause(consumerId: string): Promise<unknown>;
  resume(consumerId: string): Promise<unknown>;
  setLayer(consumerId: string, spatialLayer: number): Promise<unknown>;
}

interface Applied {
  resumed: boolean;
  layer?: number;
}

/**
 * Keeps the server's video consumers in step with what the view shows: shown members'
 * cameras and every shared screen resumed (at most `maxVideos`, screens first), each at the
 * layer its tile needs; the others paused. One pass at a time, pauses before resumes so
 * that the server's cap never sees more than it allows; a pass asked for meanwhile runs
 * after it.
 */
export class ReceivedVideos {
  /** Member id → tile height in device pixels, in tile order. */
  private shown = new Map<string, number>();
  /** What the server was told, by consumer id. */
  private readonly applied = new Map<string, Applied>();
  private running?: Promise<void>;
  private again = false;
  private closed = false;

  constructor(
    private readonly requests: VideoRequests,
    private readonly consumers: () => VideoConsumer[],
    private maxVideos = DEFAULT_VIDEO_LIMITS.maxVideos,
    /** Every video resumed at its top layer (for comparison: the client before pagination). */
    private readonly everything = false,
  ) {}

  setMaxVideos(maxVideos: number) {
    this.maxVideos = maxVideos;
    this.sync();
  }

  /** What the view shows now: member id → tile height (device pixels), in tile order. */
  show(shown: Map<string, number>) {
    this.shown = shown;
    this.sync();
  }

  /** Whether the server was told to send this consumer. */
  isResumed(consumerId: string): boolean {
    return this.applied.get(consumerId)?.resumed ?? false;
  }

  close() {
    this.closed = true;
  }

  /** Brings the server in step (again); resolves when it is. */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass().catch((error: unknown) => console.warn('video selection', error));
      } while (this.again && !this.closed);
      this.running = undefined;
    })();
    return this.running;
  }

  /** What each consumer should be: resumed at a layer, or paused (absent). */
  private wanted(consumers: VideoConsumer[]): Map<string, number | undefined> {
    const rank = new Map([...this.shown.keys()].map((id, index) => [id, index]));
    const candidates = consumers
      .filter((c) => this.everything || c.screen || rank.has(c.memberId))
      .sort(
        (a, b) =>
          Number(b.screen) - Number(a.screen) ||
          (rank.get(a.memberId) ?? 0) - (rank.get(b.memberId) ?? 0),
      )
      .slice(0, this.maxVideos);
    const top = (c: VideoConsumer) => c.spatialLayers - 1;
    return new Map(
      candidates.map((c) => [
        c.id,
        c.screen || this.everything
          ? top(c)
          : layerFor(this.shown.get(c.memberId)!, c.spatialLayers),
      ]),
    );
  }

  private async pass() {
    const consumers = this.consumers();
    const present = new Set(consumers.map((c) => c.id));
    for (const id of [...this.applied.keys()]) if (!present.has(id)) this.applied.delete(id);
    const wanted = this.wanted(consumers);
    const state = (id: string) => {
      let applied = this.applied.get(id);
      if (!applied) this.applied.set(id, (applied = { resumed: false }));
      return applied;
    };
    const ignoreGone = (error: unknown) => {
      // A consumer that closed meanwhile (its producer or we left) needs nothing more.
      if ((error as { code?: string }).code !== 'not_found') throw error;
    };
    const pauses = consumers.filter((c) => !wanted.has(c.id) && state(c.id).resumed);
    await Promise.all(
      pauses.map(async (c) => {
        state(c.id).resumed = false;
        await this.requests.pause(c.id).catch(ignoreGone);
      }),
    );
    if (this.closed) return;
    await Promise.all(
      consumers
        .filter((c) => wanted.has(c.id))
        .map(async (c) => {
          const applied = state(c.id);
          const layer = wanted.get(c.id)!;
          // The layer first: a resumed consumer starts at the layer its tile needs.
          if (c.spatialLayers > 1 && applied.layer !== layer) {
            applied.layer = layer;
            await this.requests.setLayer(c.id, layer).catch(ignoreGone);
          }
          if (!applied.resumed) {
            applied.resumed = true;
            await this.requests.resume(c.id).catch((error: unknown) => {
              applied.resumed = false;
              ignoreGone(error);
            });
          }
        }),
    );
  }
}
