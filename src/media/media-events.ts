import type { types } from 'mediasoup';

export interface ProducerInfo {
  id: string;
  participantId: string;
  kind: types.MediaKind;
  source: string;
  paused: boolean;
}

/** A producer of a participant served by another shard of a room spanning shards. */
export interface RemoteProducer extends ProducerInfo {
  shard: string;
}

/** What the media layer tells the doors; each event names its room. */
export interface MediaEvents {
  producerAdded: [roomId: string, producer: ProducerInfo];
  producerClosed: [roomId: string, producer: ProducerInfo];
  producerPaused: [roomId: string, producer: ProducerInfo];
  producerResumed: [roomId: string, producer: ProducerInfo];
  /** The consumer's owner must drop it (its producer or transport went away). */
  consumerClosed: [roomId: string, participantId: string, consumerId: string];
  /** The consumer's producer was paused or resumed by its owner. */
  consumerPaused: [roomId: string, participantId: string, consumerId: string];
  consumerResumed: [roomId: string, participantId: string, consumerId: string];
  activeSpeaker: [roomId: string, participantId: string];
  /** The room's router died with its worker; participants must join again. */
  roomMediaLost: [roomId: string];
}
