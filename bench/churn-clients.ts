/**
 * The child process of the churn bench: each cycle, real participants (mediasoup-client
 * over libwebrtc) join one room, publish audio and video, receive each other, and leave.
 */
import { NodeParticipant } from '../test/support/node-participant';

export type ChurnCommand =
  { type: 'cycle'; baseUrl: string; room: string; participants: number } | { type: 'close' };
export type ChurnReport = { type: 'cycled'; failed: number; firstError?: string };

const RECEIVE_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function receivesFromAll(participant: NodeParticipant, others: string[]) {
  const deadline = Date.now() + RECEIVE_TIMEOUT_MS;
  for (;;) {
    const stats = await participant.receiveStats();
    if (others.every((id) => stats[id]?.audioPackets && stats[id]?.videoPackets)) return;
    if (Date.now() > deadline) throw new Error('did not receive from every other participant');
    await sleep(100);
  }
}

async function cycle(baseUrl: string, room: string, count: number): Promise<ChurnReport> {
  const participants: NodeParticipant[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const participant = await NodeParticipant.connect(baseUrl, { timeoutMs: 30_000 });
      participants.push(participant);
      await participant.join(room, `churn-${i}`);
      await participant.publish();
    }
    const ids = participants.map((p) => p.joined.participantId);
    await Promise.all(
      participants.map((p) =>
        receivesFromAll(
          p,
          ids.filter((id) => id !== p.joined.participantId),
        ),
      ),
    );
    return { type: 'cycled', failed: 0 };
  } catch (error) {
    return { type: 'cycled', failed: 1, firstError: String(error) };
  } finally {
    // Half leave politely, half just disconnect.
    for (const [index, participant] of participants.entries()) {
      if (index % 2 === 0) await participant.request('leave', {}).catch(() => undefined);
      participant.close();
    }
  }
}

process.on('message', (command: ChurnCommand) => {
  if (command.type === 'cycle') {
    void cycle(command.baseUrl, command.room, command.participants).then((r) => process.send!(r));
  } else {
    // @roamhq/wrtc crashes in Node's natural exit once a media source existed.
    process.exit(0);
  }
});
