/**
 * What a Jitsi client asks of the videos it receives (the bridge channel's
 * ReceiverVideoConstraints, as jitsi-videobridge reads it), turned into what mediasoup
 * does with each of its video consumers: paused, or sent at a spatial layer.
 */
import { z } from 'zod';

const maxHeight = z.number().int().min(-1).max(100_000);
const ids = z.array(z.string().max(256)).max(500);
const constraint = z.object({ maxHeight: maxHeight.optional() });

/**
 * ReceiverVideoConstraints: older clients name endpoints (`onStageEndpoints`,
 * constraints keyed by endpoint id), newer ones sources (`<endpoint>-v0`); both read.
 */
export const receiverVideoConstraints = z.object({
  lastN: z.number().int().min(-1).max(10_000).optional(),
  onStageEndpoints: ids.optional(),
  selectedEndpoints: ids.optional(),
  onStageSources: ids.optional(),
  selectedSources: ids.optional(),
  defaultConstraints: constraint.optional(),
  constraints: z
    .record(z.string().max(256), constraint)
    .refine((record) => Object.keys(record).length <= 500, 'too many constraints')
    .optional(),
});

export type ReceiverVideoConstraints = z.infer<typeof receiverVideoConstraints>;

/** A video the client receives: its consumer, whose it is and what the focus called it. */
export interface ReceivedVideo {
  consumerId: string;
  /** The sender's endpoint id (its occupant nick). */
  endpoint: string;
  /** The source name signalled for it (`<endpoint>-v0`). */
  sourceName: string;
}

export interface VideoAllocation {
  consumerId: string;
  paused: boolean;
  /** The simulcast layer to prefer (0 is the lowest); unset when paused. */
  spatialLayer?: number;
}

/**
 * The heights lib-jitsi-meet's simulcast layers are named by (its LD, SD and HD
 * qualities): the focus cannot see the frames, so a layer is taken to be this high.
 */
export const LAYER_HEIGHTS = [180, 360, 720] as const;

/** The highest layer no taller than maxHeight (the lowest when none is); undefined for 0. */
export function layerFor(height: number): number | undefined {
  if (height === 0) return undefined;
  if (height < 0) return LAYER_HEIGHTS.length - 1;
  let layer = 0;
  LAYER_HEIGHTS.forEach((layerHeight, index) => {
    if (layerHeight <= height) layer = index;
  });
  return layer;
}

/**
 * Each video's pause and layer under the constraints: its own constraint (by source
 * name, else by endpoint) or the default one; without any, the highest layer. With a
 * lastN, only that many videos are sent: those on stage first, then the selected ones,
 * then by how recently their sender spoke (`speakers`, most recent first).
 */
export function allocate(
  constraints: ReceiverVideoConstraints | undefined,
  videos: ReceivedVideo[],
  speakers: string[],
): VideoAllocation[] {
  const c = constraints ?? {};
  const onStage = new Set([...(c.onStageSources ?? []), ...(c.onStageEndpoints ?? [])]);
  const selected = new Set([...(c.selectedSources ?? []), ...(c.selectedEndpoints ?? [])]);
  const rank = (video: ReceivedVideo) => {
    const named = (set: Set<string>) => set.has(video.sourceName) || set.has(video.endpoint);
    if (named(onStage)) return -2;
    if (named(selected)) return -1;
    const spoke = speakers.indexOf(video.endpoint);
    return spoke < 0 ? speakers.length : spoke;
  };
  const lastN = c.lastN ?? -1;
  const forwarded = new Set(
    [...videos]
      .sort((a, b) => rank(a) - rank(b))
      .slice(0, lastN < 0 ? videos.length : lastN)
      .map((video) => video.consumerId),
  );
  return videos.map((video) => {
    const own = c.constraints?.[video.sourceName] ?? c.constraints?.[video.endpoint];
    const height = own?.maxHeight ?? c.defaultConstraints?.maxHeight ?? -1;
    const spatialLayer = forwarded.has(video.consumerId) ? layerFor(height) : undefined;
    return spatialLayer === undefined
      ? { consumerId: video.consumerId, paused: true }
      : { consumerId: video.consumerId, paused: false, spatialLayer };
  });
}
