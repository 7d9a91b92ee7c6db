/**
 * The worker thread of the xmpp bench: many light XMPP clients, off the thread of the
 * server being measured. Runs one scenario per command and reports its figures.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { fromOf, LightXmpp } from './xmpp-load-client';

export interface Target {
  url: string;
  domain: string;
}

export type ClientsCommand =
  | { type: 'fanout'; target: Target; room: string; occupants: number; messages: number }
  | { type: 'burst'; target: Target; room: string; occupants: number; timeoutMs: number };

export type ClientsReport =
  | { type: 'progress'; message: string }
  | { type: 'fanout'; delivered: number; seconds: number; latenciesMs: number[] }
  | { type: 'burst'; seconds: number; complete: boolean; presencesSeen: number }
  | { type: 'failed'; error: string };

const CONNECT_CONCURRENCY = 50;
/** Messages the fan-out sender keeps in flight (sent, not yet reflected back to it). */
const WINDOW = 20;

const report = (message: ClientsReport) => parentPort!.postMessage(message);

async function connectMany(target: Target, count: number): Promise<LightXmpp[]> {
  const clients: LightXmpp[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      clients.push(await LightXmpp.connect(target.url, target.domain));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, count) }, lane));
  return clients;
}

const roomJid = (target: Target, room: string) => `${room}@conference.${target.domain}`;
const joinFrame = (target: Target, room: string, nick: string) =>
  `<presence xmlns="jabber:client" to="${roomJid(target, room)}/${nick}"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`;

/** Joins one by one, each waiting for its own presence (110) in the room. */
async function joinAll(clients: LightXmpp[], target: Target, room: string) {
  for (const [index, client] of clients.entries()) {
    await new Promise<void>((resolve) => {
      client.onFrame = (frame) => {
        if (frame.startsWith('<presence') && /code=["']110["']/.test(frame)) resolve();
      };
      client.send(joinFrame(target, room, `u${index}`));
    });
  }
}

/**
 * Messages sent first and not counted: both servers are measured warm (a JIT-compiled
 * shard, Prosody's caches), not on their first fraction of a second.
 */
export const FANOUT_WARMUP_MESSAGES = 1000;

/** One sender, `occupants` receivers: groupchat with the send time in the body. */
async function fanout(command: Extract<ClientsCommand, { type: 'fanout' }>) {
  const { target, room, occupants, messages } = command;
  const clients = await connectMany(target, occupants + 1);
  await joinAll(clients, target, room);
  report({ type: 'progress', message: `${occupants + 1} joined ${room}` });
  const [sender, ...receivers] = clients;
  let latenciesMs: number[] = [];
  let delivered = 0;
  let lastDelivery = 0;
  for (const receiver of receivers)
    receiver.onFrame = (frame) => {
      if (!frame.startsWith('<message')) return;
      const sent = /<body>([\d.]+)<\/body>/.exec(frame)?.[1];
      if (!sent) return;
      lastDelivery = performance.now();
      latenciesMs.push(lastDelivery - Number(sent));
      delivered++;
    };
  let sent = 0;
  /** Sends `count` messages, `WINDOW` in flight; resolves when each reached every receiver. */
  const pump = async (count: number) => {
    const last = sent + count;
    await new Promise<void>((resolve) => {
      let reflected = 0;
      const sendOne = () => {
        sent++;
        sender.send(
          `<message xmlns="jabber:client" type="groupchat" to="${roomJid(target, room)}" id="m${sent}"><body>${performance.now()}</body></message>`,
        );
      };
      sender.onFrame = (frame) => {
        if (!frame.startsWith('<message') || !/<body>/.test(frame)) return;
        reflected++;
        if (sent < last) sendOne();
        if (reflected === count) resolve();
      };
      for (let i = 0; i < Math.min(WINDOW, count); i++) sendOne();
    });
    // Receivers may still be reading the last messages the sender already saw.
    const deadline = performance.now() + 10_000;
    while (delivered < count * occupants && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
  };
  await pump(FANOUT_WARMUP_MESSAGES);
  [delivered, latenciesMs, lastDelivery] = [0, [], 0];
  const started = performance.now();
  await pump(messages);
  const seconds = ((lastDelivery || performance.now()) - started) / 1000;
  clients.forEach((client) => client.close());
  report({ type: 'fanout', delivered, seconds, latenciesMs });
}

/** All occupants join at once; done when each has seen everyone's presence. */
async function burst(command: Extract<ClientsCommand, { type: 'burst' }>) {
  const { target, room, occupants, timeoutMs } = command;
  const clients = await connectMany(target, occupants);
  report({ type: 'progress', message: `${occupants} connected, joining ${room} at once` });
  const prefix = `${roomJid(target, room)}/`;
  let complete = 0;
  let presencesSeen = 0;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));
  for (const client of clients) {
    const seen = new Set<string>();
    client.onFrame = (frame) => {
      if (!frame.startsWith('<presence')) return;
      if (/\stype=/.test(frame.slice(0, frame.indexOf('>')))) return;
      const from = fromOf(frame);
      if (!from?.startsWith(prefix) || seen.has(from)) return;
      seen.add(from);
      presencesSeen++;
      if (seen.size === occupants && ++complete === occupants) finished();
    };
  }
  const started = performance.now();
  clients.forEach((client, index) => client.send(joinFrame(target, room, `b${index}`)));
  const timer = setTimeout(finished, timeoutMs);
  await done;
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  clients.forEach((client) => client.close());
  report({ type: 'burst', seconds, complete: complete === occupants, presencesSeen });
}

parentPort!.on('message', (command: ClientsCommand) => {
  const run = command.type === 'fanout' ? fanout(command) : burst(command);
  run.catch((error: Error) => report({ type: 'failed', error: error.message }));
});
