/**
 * The XMPP door under hostile input, over real WebSocket connections to the built shard
 * (its own process): each run opens a connection, brings it to a stage (just connected,
 * stream opened, authenticated, bound, resumable, a MUC occupant, a portal user), sends
 * generated frames (valid stanzas of every kind, mutations of them, stream-level
 * elements, or one frame breaking a framing rule), then a ping. Every answer must be
 * well-formed and never internal-server-error; the ping must be answered, or the stream
 * must have ended with a stream error (the one the rule calls for), `<close/>` and a
 * clean WebSocket close; every IQ that is owed an answer must have had one before the
 * ping's. Another user's session (in a room, resumable), the canary call's room and
 * unknown JIDs are the targets. Afterwards the shard runs, the canary call and the other
 * user are fine, and every count is back at its baseline.
 */
import fc from 'fast-check';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { parseFrame } from '../../src/signaling/xmpp/stream/xml-framing';
import {
  backToBaseline,
  CanaryCall,
  fuzzParameters,
  FuzzProgress,
  fuzzTimeout,
  largeRun,
  objectCounts,
} from '../support/fuzz';
import { OPEN, rawGuest, RawXmpp, saslAuth } from '../support/raw-xmpp';
import { ShardProcess, startShardProcess } from '../support/shard-process';
import { Frame, framingViolations, frames, FuzzFrame, Targets } from '../support/xmpp-fuzz-inputs';

const MAX_STANZA_BYTES = 16_384;
/** How long an owed answer may take (the shard shares two cores with the fuzzer). */
const ANSWER_MS = 10_000;
const USER = { email: 'fuzz-user@example.org', password: 'fuzz-user-password' };
const ROOM = 'fuzz-room';
const BIND =
  '<iq xmlns="jabber:client" type="set" id="bind"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>';
const ping = (id: string, from = '') =>
  `<iq xmlns="jabber:client" type="get" id="${id}" to="localhost"${from}><ping xmlns="urn:xmpp:ping"/></iq>`;
const joinPresence = (nick: string) =>
  `<presence xmlns="jabber:client" to="${ROOM}@conference.localhost/${nick}"><x xmlns="http://jabber.org/protocol/muc"/></presence>`;
/** Server frames are checked with the door's own reader, without its limits. */
const ANY_SIZE = { maxStanzaBytes: 1 << 30, maxDepth: 1 << 20 };

const STAGES = ['connected', 'opened', 'authenticated', 'bound', 'resumable', 'occupant'] as const;
type Stage = (typeof STAGES)[number] | 'user';
const BOUND = new Set<Stage>(['bound', 'resumable', 'occupant', 'user']);

/** A fuzzing client: records every message, and how the connection closed. */
class FuzzClient {
  readonly received: string[] = [];
  closeCode: number | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.received.push(data.toString());
      for (const waiter of [...this.waiters]) waiter();
    });
    socket.on('close', (code) => {
      this.closeCode = code;
      for (const waiter of [...this.waiters]) waiter();
    });
    socket.on('error', () => undefined);
  }

  static connect(url: string): Promise<FuzzClient> {
    const socket = new WebSocket(url, ['xmpp']);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new FuzzClient(socket)));
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) =>
        reject(new Error(`HTTP ${response.statusCode}`)),
      );
    });
  }

  get closed(): boolean {
    return this.closeCode !== undefined;
  }

  send(frame: Frame): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (frame.kind === 'text') this.socket.send(frame.text);
    else this.socket.send(frame.bytes, { binary: frame.kind === 'binary' });
  }

  /** Waits until `done()` holds, checked on every message and on the close; false after ms. */
  until(done: () => boolean, ms = ANSWER_MS): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        finish(true);
      };
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(result);
      };
      const timer = setTimeout(() => finish(done()), ms);
      this.waiters.add(check);
    });
  }

  /** Sends `frame` and waits for a message matching `answer`, or throws. */
  async step(frame: string, answer: RegExp, what: string): Promise<void> {
    const from = this.received.length;
    this.send({ kind: 'text', text: frame });
    const answered = () => this.received.slice(from).some((text) => answer.test(text));
    if (!(await this.until(answered)))
      throw new Error(`${what}: no ${answer} after ${frame}\n${this.received.join('\n')}`);
  }
}

/** Stream errors seen, by condition, for the summary of a large run. */
const conditions = new Map<string, number>();

describe('XMPP door fuzzing', () => {
  let shard: ShardProcess;
  let service: string;
  let canary: CanaryCall;
  let victim: RawXmpp;
  let targets: Targets;
  let baseline: Awaited<ReturnType<typeof objectCounts>>;
  let runs = 0;

  beforeAll(async () => {
    shard = await startShardProcess({
      env: {
        XMPP_MAX_STANZA_BYTES: String(MAX_STANZA_BYTES),
        XMPP_RESUME_SECONDS: '1',
        EMPTY_ROOM_GRACE_MS: '200',
      },
    });
    service = `${shard.url.replace('http', 'ws')}/xmpp-websocket`;
    const registered = await fetch(`${shard.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...USER, displayName: 'Fuzz user' }),
    });
    expect(registered.status).toBe(201);
    canary = await CanaryCall.start(shard.url);
    baseline = await objectCounts(shard);

    // The other user: bound, resumable, an occupant of the fuzzers' room; it
    // acknowledges what it receives (XEP-0198) and answers nothing else.
    victim = await rawGuest(service);
    const jid = /<jid>([^<]+)<\/jid>/.exec(victim.received.join(''))![1];
    victim.send('<enable xmlns="urn:xmpp:sm:3" resume="true"/>');
    await victim.waitFor(/<enabled /);
    let handled = 0;
    victim.socket.on('message', (data) => {
      const text = data.toString();
      if (/^<(message|presence|iq)[ >/]/.test(text)) handled++;
      if (text.startsWith('<r ')) victim.send(`<a xmlns="urn:xmpp:sm:3" h="${handled}"/>`);
    });
    victim.send(joinPresence('victim'));
    await victim.waitFor(/<status code="110"\/>/);
    targets = {
      victimFull: jid,
      victimBare: jid.split('/')[0],
      room: `${ROOM}@conference.localhost`,
      otherRoom: 'fuzz-canary@conference.localhost',
      maxStanzaBytes: MAX_STANZA_BYTES,
    };
  });

  afterAll(async () => {
    canary?.close();
    await shard?.stop();
  });

  /** Brings a new connection to `stage`; each step's answer is checked on the way. */
  const prepare = async (client: FuzzClient, stage: Stage) => {
    if (stage === 'connected') return;
    await client.step(OPEN(), /<mechanisms/, stage);
    if (stage === 'opened') return;
    const auth =
      stage === 'user'
        ? saslAuth('PLAIN', `\0${USER.email}\0${USER.password}`)
        : saslAuth('ANONYMOUS', '');
    await client.step(auth, /<success/, stage);
    await client.step(OPEN(), /<bind /, stage);
    if (stage === 'authenticated') return;
    await client.step(BIND, /id="bind"/, stage);
    if (stage === 'resumable')
      await client.step('<enable xmlns="urn:xmpp:sm:3" resume="true"/>', /<enabled /, stage);
    if (stage === 'occupant')
      await client.step(joinPresence(`fuzzer-${runs}`), /code="110"/, stage);
  };

  /** One run: the checks described at the top of this file. */
  const fuzzRun = async (stage: Stage, sent: FuzzFrame[], kill: boolean) => {
    runs++;
    const client = await FuzzClient.connect(service);
    try {
      await prepare(client, stage);
      const from = client.received.length;
      for (const frame of sent) client.send(frame.frame);
      const probe = `probe-${runs}`;
      client.send({ kind: 'text', text: ping(probe) });
      const answers = () => client.received.slice(from);
      const probed = (text: string) => text.includes(`id="${probe}"`);
      const settled = await client.until(() => client.closed || answers().some(probed));
      const transcript = () =>
        `stage ${stage}, sent:\n${sent.map((f) => JSON.stringify(f.frame).slice(0, 500)).join('\n')}\n` +
        `answers:\n${answers().join('\n').slice(0, 4000)}`;
      if (!settled)
        throw new Error(`no answer to the ping, and the stream is open: ${transcript()}`);

      for (const text of answers()) {
        if (text.includes('internal-server-error'))
          throw new Error(`internal-server-error: ${transcript()}`);
        try {
          parseFrame(text, ANY_SIZE);
        } catch (error) {
          throw new Error(`a server frame is not well-formed (${String(error)}): ${transcript()}`);
        }
      }
      const streamError = answers().find((text) => text.startsWith('<stream:error'));
      const condition =
        streamError &&
        /<([a-z-]+) xmlns="urn:ietf:params:xml:ns:xmpp-streams"/.exec(streamError)?.[1];
      if (condition) conditions.set(condition, (conditions.get(condition) ?? 0) + 1);
      const [first] = sent;
      if (BOUND.has(stage) && sent.every((frame) => frame.stanza) && client.closed)
        throw new Error(`well-formed stanzas ended a bound stream: ${transcript()}`);
      if (first?.streamError || first?.closeCode || streamError || !answers().some(probed)) {
        // The stream ends: with <close/> and a normal WebSocket close after a stream
        // error or the client's <close/>; 1009 only for a message over the WebSocket limit.
        if (!(await client.until(() => client.closed)))
          throw new Error(`the stream ended but the WebSocket stays open: ${transcript()}`);
        if (first?.closeCode) {
          if (client.closeCode !== first.closeCode)
            throw new Error(
              `close code ${client.closeCode}, not ${first.closeCode}: ${transcript()}`,
            );
          return;
        }
        if (first?.streamError && !first.streamError.includes(condition ?? 'none'))
          throw new Error(`stream error ${condition}, not ${first.streamError}: ${transcript()}`);
        const closedAfter = answers().some((text) =>
          text.startsWith('<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"'),
        );
        if (client.closeCode !== 1000 || !closedAfter)
          throw new Error(
            `the stream did not end cleanly (close ${client.closeCode}): ${transcript()}`,
          );
        return;
      }
      const probeAnswer = answers().findIndex(probed);
      if (!/type="result"/.test(answers()[probeAnswer]))
        throw new Error(`the ping was not answered with a result: ${transcript()}`);
      const before = answers().slice(0, probeAnswer);
      for (const frame of sent) {
        if (!frame.answerId) continue;
        const id = `id="${frame.answerId}"`;
        if (
          !before.some(
            (text) =>
              text.startsWith('<iq') && text.includes(id) && /type="(result|error)"/.test(text),
          )
        )
          throw new Error(`no answer to the IQ ${frame.answerId}: ${transcript()}`);
      }
    } finally {
      if (kill || client.closed) client.socket.terminate();
      else {
        client.send({ kind: 'text', text: '<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>' });
        client.socket.close();
      }
    }
  };

  it(
    'answers every frame with a result, the right error or a clean end, and leaves nothing behind',
    async () => {
      const progress = new FuzzProgress('xmpp');
      // Several IQs in one run each get their own id, so each answer is found.
      const uniqueIds = (list: FuzzFrame[]) =>
        list.map((frame, index) =>
          frame.answerId && frame.frame.kind === 'text'
            ? {
                ...frame,
                answerId: `q${index}`,
                frame: {
                  kind: 'text' as const,
                  text: frame.frame.text.replace(' id="q"', ` id="q${index}"`),
                },
              }
            : frame,
        );
      const stage = fc.oneof(
        { weight: 20, arbitrary: fc.constantFrom<Stage>(...STAGES) },
        { weight: 1, arbitrary: fc.constant<Stage>('user') },
      );
      const scripts = fc.oneof(
        {
          weight: 3,
          arbitrary: fc.tuple(
            stage,
            fc.array(frames(targets), { minLength: 1, maxLength: 4 }).map(uniqueIds),
          ),
        },
        {
          weight: 1,
          arbitrary: fc.tuple(
            stage,
            framingViolations(targets).map((frame) => [frame]),
          ),
        },
      );
      await fc.assert(
        fc.asyncProperty(scripts, fc.boolean(), async ([stageName, sent], kill) => {
          await fuzzRun(stageName, sent, kill);
          progress.tick(sent.length);
          victim.received.length = 0;
        }),
        fuzzParameters(1500),
      );
      progress.done();
      if (process.env.FUZZ_PROGRESS)
        process.stderr.write(
          `[fuzz] xmpp: stream errors ${JSON.stringify(Object.fromEntries(conditions))}\n`,
        );

      expect(shard.exited()).toBeUndefined();
      // The other user is still there, in its room, and answered.
      victim.send(ping('victim-ping'));
      await victim.waitFor(/id="victim-ping"/);
      expect(victim.socket.readyState).toBe(WebSocket.OPEN);
      victim.send('<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>');
      await victim.closed;
      await canary.assertHealthy();
      expect(await backToBaseline(shard, baseline)).toEqual(baseline);
    },
    fuzzTimeout(120_000),
  );

  it(
    'answers hostile WebSocket upgrades with 4xx, never 5xx',
    async () => {
      const port = new URL(shard.url).port;
      const before = await objectCounts(shard);
      const upgrade = fc.record({
        path: fc.constantFrom(
          '/xmpp-websocket',
          '/xmpp-websocket?token=garbage',
          '/xmpp-websocket?token=a.b.c',
          '/xmpp-websocket?token=',
          '/xmpp-websocket?%zz=%',
          '/xmpp-websocket/../xmpp-websocket',
          '//a:b/xmpp-websocket',
          '/XMPP-WEBSOCKET',
        ),
        protocol: fc.constantFrom('xmpp', 'XMPP', 'chat', '', 'chat, xmpp', ' xmpp ', 'xmpp,xmpp'),
        version: fc.constantFrom('13', '8', 'x'),
      });
      const status = ({
        path,
        protocol,
        version,
      }: {
        path: string;
        protocol: string;
        version: string;
      }) =>
        new Promise<number | undefined>((resolve) => {
          const socket = connect(Number(port), '127.0.0.1');
          let head = '';
          const done = (code: number | undefined) => {
            clearTimeout(timer);
            socket.destroy();
            resolve(code);
          };
          // An upgrade no door takes is dropped after a second (socket.io's engine).
          const timer = setTimeout(() => done(undefined), 3_000);
          socket.on('data', (chunk) => {
            head += chunk.toString('latin1');
            const line = /^HTTP\/1\.1 (\d{3})/.exec(head);
            if (line) done(Number(line[1]));
          });
          socket.on('close', () => done(undefined));
          socket.on('error', () => done(undefined));
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              `Sec-WebSocket-Version: ${version}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
              `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
          );
        });
      await fc.assert(
        fc.asyncProperty(upgrade, async (request) => {
          const code = await status(request);
          expect(code === undefined || code === 101 || (code >= 400 && code < 500)).toBe(true);
        }),
        { ...fuzzParameters(20), numRuns: largeRun() ? 200 : 20 },
      );
      expect(shard.exited()).toBeUndefined();
      expect(await backToBaseline(shard, before)).toEqual(before);
    },
    fuzzTimeout(90_000),
  );
});
