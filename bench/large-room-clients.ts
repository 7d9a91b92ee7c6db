/**
 * The child process of the large-room bench: Node participants (mediasoup-client over
 * libwebrtc) that publish a simulcast camera into one room and receive nothing.
 */
import { NodeParticipant } from '../test/support/node-participant';

export type LargeRoomCommand =
  | { type: 'publish'; baseUrl: string; room: string; from: number; count: number }
  | { type: 'close' };
export type LargeRoomReport = { type: 'publishing'; failed: number; firstError?: string };

const publishers: NodeParticipant[] = [];

async function publish(baseUrl: string, room: string, from: number, count: number) {
  let failed = 0;
  let firstError: string | undefined;
  for (let i = from; i < from + count; i++) {
    try {
      const participant = await NodeParticipant.connect(baseUrl, { timeoutMs: 30_000 });
      publishers.push(participant);
      participant.receivesOthers = false;
      await participant.join(room, `Publisher ${i}`);
      await participant.publish(['video'], { simulcast: true });
    } catch (error) {
      failed += 1;
      firstError ??= String(error);
    }
  }
  process.send!({ type: 'publishing', failed, firstError } satisfies LargeRoomReport);
}

process.on('message', (command: LargeRoomCommand) => {
  if (command.type === 'publish') {
    void publish(command.baseUrl, command.room, command.from, command.count);
  } else {
    publishers.forEach((participant) => participant.close());
    // @roamhq/wrtc crashes in Node's natural exit once a media source existed.
    process.exit(0);
  }
});
