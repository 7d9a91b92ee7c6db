import type { MediaService } from '../media/media.service';
import type { MediaEvents, ProducerInfo } from '../media/media-events';

type Listeners = { [K in keyof MediaEvents]?: (...args: MediaEvents[K]) => void };

/**
 * Follows the producers of one room that send media: `started` when one is added or
 * resumed, `stopped` when it pauses or closes. Returns what stops following.
 */
export function watchProducers(
  media: MediaService,
  roomId: string,
  started: (producer: ProducerInfo) => void,
  stopped: (producer: ProducerInfo) => void,
): () => void {
  const inRoom =
    (listener: (producer: ProducerInfo) => void) => (room: string, producer: ProducerInfo) => {
      if (room === roomId) listener(producer);
    };
  const listeners: Listeners = {
    producerAdded: inRoom(started),
    producerResumed: inRoom(started),
    producerPaused: inRoom(stopped),
    producerClosed: inRoom(stopped),
  };
  for (const [event, listener] of Object.entries(listeners)) {
    media.events.on(event as keyof MediaEvents, listener as never);
  }
  return () => {
    for (const [event, listener] of Object.entries(listeners)) {
      media.events.off(event as keyof MediaEvents, listener as never);
    }
  };
}
