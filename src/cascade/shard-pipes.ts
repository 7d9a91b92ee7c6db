import type { types } from 'mediasoup';
import { DomainError } from '../conference/domain-error';
import type { RemoteProducer } from '../media/media-events';
import type { RoomMedia } from '../media/room-media';

/** The local end of a pipe: where the other shard sends, and the SRTP key it sends with. */
export interface PipeEnd {
  port: number;
  srtpParameters: types.SrtpParameters;
}

/** What the sending shard answers for one piped producer. */
export interface PipedProducerParams {
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
  paused: boolean;
}

/** How a room's pipes reach the other shards (the cascade service over ClusterCalls). */
export interface PipeSignaling {
  /** Asks `shard` for its end of a pipe sending to ours. */
  open(shard: string, ours: PipeEnd): Promise<PipeEnd>;
  /** Asks `shard` to send the producer over its pipe to this shard. */
  consume(shard: string, producerId: string): Promise<PipedProducerParams>;
  /** The pipe address `shard` announces in the registry. */
  addressOf(shard: string): string | undefined;
}

export interface PipeListen {
  ip: string;
  announcedAddress: string;
  portRange: { min: number; max: number };
}

/** Checks in a row a piped stream may receive nothing while its producer sends. */
const STALLED_CHECKS = 2;

/**
 * One room's media pipes to and from the other shards of a spanning room, over SRTP
 * PipeTransports on the room's home router: per other shard one transport receiving
 * from it (made here) and one sending to it (made at its request). The pipe table: each
 * producer crosses to each shard once, as one consumer on the transport to that shard,
 * whatever the number of receivers there; the receivers consume its pipe producer.
 */
export class ShardPipes {
  private readonly receiving = new Map<string, Promise<types.PipeTransport>>();
  private readonly sending = new Map<string, types.PipeTransport>();
  /** What crosses to other shards, by `${producerId}>${shard}`. */
  private readonly table = new Map<string, types.Consumer>();
  /**
   * Per pipe producer: its bytes at the last check and the checks since they grew. Keyed
   * by the object: a rebuilt pipe's producer has the same id and starts from zero.
   */
  private readonly progress = new Map<
    types.Producer,
    { bytes: number; still: number; at: number }
  >();
  private closed = false;

  constructor(
    private readonly media: RoomMedia,
    private readonly signaling: PipeSignaling,
    private readonly listen: PipeListen,
  ) {}

  /** Pipes a producer of another shard here (RoomMedia's remote producer source). */
  readonly bring = async (remote: RemoteProducer): Promise<types.Producer> => {
    const transport = await this.transportFrom(remote.shard);
    const params = await this.signaling.consume(remote.shard, remote.id);
    if (transport.closed)
      throw new DomainError('unavailable', `the pipe from ${remote.shard} closed`);
    return transport.produce({
      id: remote.id,
      kind: params.kind,
      rtpParameters: params.rtpParameters,
      paused: params.paused || remote.paused,
      appData: { participantId: remote.participantId, source: remote.source },
    });
  };

  /** Another shard opens a pipe receiving from this one: our sending end, connected. */
  async open(shard: string, theirs: PipeEnd): Promise<PipeEnd> {
    const ip = this.signaling.addressOf(shard);
    if (!ip) throw new DomainError('not_found', `shard ${shard} announces no pipe address`);
    this.sending.get(shard)?.close();
    const transport = await this.createTransport();
    if (this.closed) {
      transport.close();
      throw new DomainError('not_found', 'the room closed here');
    }
    this.sending.set(shard, transport);
    transport.observer.once('close', () => {
      if (this.sending.get(shard) === transport) this.sending.delete(shard);
    });
    await transport.connect({ ip, port: theirs.port, srtpParameters: theirs.srtpParameters });
    return this.endOf(transport);
  }

  /** Another shard asks for a producer of this one over its pipe. */
  async consume(shard: string, producerId: string): Promise<PipedProducerParams> {
    const transport = this.sending.get(shard);
    if (!transport) throw new DomainError('not_found', `no pipe to ${shard}: open one first`);
    await this.media.exportProducer(producerId);
    const key = `${producerId}>${shard}`;
    this.table.get(key)?.close();
    const consumer = await transport.consume({ producerId });
    this.table.set(key, consumer);
    consumer.observer.once('close', () => {
      if (this.table.get(key) === consumer) this.table.delete(key);
    });
    return {
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
      paused: consumer.producerPaused,
    };
  }

  /** Closes both pipes with the shard (it died or left the room). */
  closeShard(shard: string): void {
    this.stopSending(shard);
    this.stopReceiving(shard);
  }

  /** Closes the pipe to the shard: what it carried closes, the shard's receivers' too. */
  stopSending(shard: string): void {
    this.sending.get(shard)?.close();
  }

  /** Closes the pipe from the shard (it stalled): its pipe producers and their consumers close. */
  stopReceiving(shard: string): void {
    const receiving = this.receiving.get(shard);
    this.receiving.delete(shard);
    void receiving?.then((transport) => transport.close()).catch(() => undefined);
  }

  /**
   * The shards whose pipe to this one stalled: a piped producer that is not paused
   * received no byte for STALLED_CHECKS checks in a row, about `intervalMs` apart (a
   * check that comes much sooner, after a slow one, is not counted).
   */
  async stalledShards(intervalMs: number): Promise<string[]> {
    const remote = new Map(this.media.remoteProducers().map((p) => [p.id, p]));
    const stalled = new Set<string>();
    const piped = await this.media.pipedProducers();
    for (const producer of this.progress.keys()) {
      if (!piped.includes(producer)) this.progress.delete(producer);
    }
    for (const producer of piped) {
      const source = remote.get(producer.id);
      if (!source || producer.paused || source.paused) {
        this.progress.delete(producer);
        continue;
      }
      const stats = await producer.getStats().catch(() => []);
      const bytes = stats.reduce((sum, stream) => sum + stream.byteCount, 0);
      const last = this.progress.get(producer);
      const at = Date.now();
      if (last && at - last.at < intervalMs / 2) continue;
      const still = last && bytes <= last.bytes ? last.still + 1 : 0;
      this.progress.set(producer, { bytes, still, at });
      if (still >= STALLED_CHECKS) stalled.add(source.shard);
    }
    return [...stalled];
  }

  /** Streams arriving from other shards (pipe producers) and leaving (pipe consumers). */
  async counts(): Promise<{ in: number; out: number }> {
    return { in: (await this.media.pipedProducers()).length, out: this.table.size };
  }

  close(): void {
    this.closed = true;
    for (const shard of new Set([...this.sending.keys(), ...this.receiving.keys()])) {
      this.closeShard(shard);
    }
  }

  private transportFrom(shard: string): Promise<types.PipeTransport> {
    let transport = this.receiving.get(shard);
    if (!transport) {
      transport = this.openFrom(shard);
      this.receiving.set(shard, transport);
      transport.catch(() => {
        if (this.receiving.get(shard) === transport) this.receiving.delete(shard);
      });
    }
    return transport;
  }

  private async openFrom(shard: string): Promise<types.PipeTransport> {
    const ip = this.signaling.addressOf(shard);
    if (!ip) throw new DomainError('unavailable', `shard ${shard} announces no pipe address`);
    const transport = await this.createTransport();
    try {
      const theirs = await this.signaling.open(shard, this.endOf(transport));
      await transport.connect({ ip, port: theirs.port, srtpParameters: theirs.srtpParameters });
      if (this.closed) throw new DomainError('not_found', 'the room closed here');
    } catch (error) {
      transport.close();
      throw error;
    }
    transport.observer.once('close', () => {
      void this.receiving.get(shard)?.then((current) => {
        if (current === transport) this.receiving.delete(shard);
      });
    });
    return transport;
  }

  private createTransport(): Promise<types.PipeTransport> {
    const { ip, announcedAddress, portRange } = this.listen;
    return this.media.home.createPipeTransport({
      listenInfo: { protocol: 'udp', ip, announcedAddress, portRange },
      enableSrtp: true,
    });
  }

  private endOf(transport: types.PipeTransport): PipeEnd {
    return { port: transport.tuple.localPort, srtpParameters: transport.srtpParameters! };
  }
}
