import type { RoomMedia } from './room-media';

type AfterParticipant<F> = F extends (participantId: string, ...rest: infer R) => unknown
  ? R
  : never;

/**
 * One participant's media in its room: its transports, producers and consumers, and
 * what it needs to know of the room's. Whatever drives a participant's media (the
 * socket.io door, the XMPP focus, a recorder) does it through this handle, which can
 * reach no other participant's objects; closing them is the room's business when the
 * participant leaves.
 */
export class MediaSession {
  constructor(
    readonly participantId: string,
    private readonly room: RoomMedia,
  ) {}

  get rtpCapabilities() {
    return this.room.rtpCapabilities;
  }

  get activeSpeaker() {
    return this.room.activeSpeaker;
  }

  /** What a participant of the room publishes (this one by default). */
  producersOf(participantId = this.participantId) {
    return this.room.producersOf(participantId);
  }

  /** Every producer of the room. */
  roomProducers() {
    return this.room.producers();
  }

  createPlainTransport(...args: AfterParticipant<RoomMedia['createPlainTransport']>) {
    return this.room.createPlainTransport(this.participantId, ...args);
  }

  closePlainTransport(...args: AfterParticipant<RoomMedia['closePlainTransport']>) {
    return this.room.closePlainTransport(this.participantId, ...args);
  }

  requestKeyFrame(...args: AfterParticipant<RoomMedia['requestKeyFrame']>) {
    return this.room.requestKeyFrame(this.participantId, ...args);
  }

  createWebRtcTransport(...args: AfterParticipant<RoomMedia['createWebRtcTransport']>) {
    return this.room.createWebRtcTransport(this.participantId, ...args);
  }

  connectTransport(...args: AfterParticipant<RoomMedia['connectTransport']>) {
    return this.room.connectTransport(this.participantId, ...args);
  }

  closeTransport(...args: AfterParticipant<RoomMedia['closeTransport']>) {
    return this.room.closeTransport(this.participantId, ...args);
  }

  restartIce(...args: AfterParticipant<RoomMedia['restartIce']>) {
    return this.room.restartIce(this.participantId, ...args);
  }

  produce(...args: AfterParticipant<RoomMedia['produce']>) {
    return this.room.produce(this.participantId, ...args);
  }

  closeProducer(...args: AfterParticipant<RoomMedia['closeProducer']>) {
    return this.room.closeProducer(this.participantId, ...args);
  }

  setProducerPaused(...args: AfterParticipant<RoomMedia['setProducerPaused']>) {
    return this.room.setProducerPaused(this.participantId, ...args);
  }

  consume(...args: AfterParticipant<RoomMedia['consume']>) {
    return this.room.consume(this.participantId, ...args);
  }

  /** A receive transport with a consumer of each producer named (receive-on-join). */
  receive(...args: AfterParticipant<RoomMedia['receive']>) {
    return this.room.receive(this.participantId, ...args);
  }

  setConsumerPaused(...args: AfterParticipant<RoomMedia['setConsumerPaused']>) {
    return this.room.setConsumerPaused(this.participantId, ...args);
  }

  /** Its consumers as the server sees them (paused, layers). */
  consumers() {
    return this.room.consumersOf(this.participantId);
  }

  setPreferredLayers(...args: AfterParticipant<RoomMedia['setPreferredLayers']>) {
    return this.room.setPreferredLayers(this.participantId, ...args);
  }
}
