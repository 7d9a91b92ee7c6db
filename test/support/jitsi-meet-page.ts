/**
 * A Jitsi Meet client in a Chromium page: the real lib-jitsi-meet (npm
 * @lyno/lib-jitsi-meet, with the jQuery 3.6.0 it expects as the global `jquery`), from
 * the tarballs `npm run setup -- --test` packs into the cache, put by Playwright into a
 * page of the shard (so the page talks to the shard as a Jitsi Meet deployment's page
 * would, from the same origin). The client connects over XMPP WebSocket with
 * SASL ANONYMOUS, joins `<room>` with P2P off, sends its fake camera and microphone, and
 * exposes what it receives (window.jitsi).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';

const CACHE = join(
  process.env.VIDEO_WINDOW_CACHE ?? join(homedir(), '.cache/video-window'),
  'lib-jitsi-meet',
);
const LIBRARY = {
  tarball: 'lyno-lib-jitsi-meet-2.6726.2.tgz',
  file: 'package/lib-jitsi-meet.min.js',
};
const JQUERY = { tarball: 'jquery-3.6.0.tgz', file: 'package/dist/jquery.min.js' };

/** The tarballs the page's scripts come from. */
export const JITSI_SCRIPTS = [LIBRARY, JQUERY].map(({ tarball }) => join(CACHE, tarball));

let scripts: { library: string; jquery: string } | undefined;

function fromTarball({ tarball, file }: { tarball: string; file: string }): string {
  const path = join(CACHE, tarball);
  if (!existsSync(path)) throw new Error(`missing ${path}: run "npm run setup -- --test"`);
  return execFileSync('tar', ['-xzOf', path, file], { maxBuffer: 64 << 20 }).toString();
}

/** What the page reports per remote participant (by endpoint id, the MUC nick). */
export interface JitsiReceive {
  displayName?: string;
  framesDecoded: number;
  audioPacketsReceived: number;
}

export interface JitsiClient {
  page: Page;
  /** The client's endpoint id (its MUC nick). */
  id: string;
  receiveStats(): Promise<Record<string, JitsiReceive>>;
  /** Waits until it decodes video (and receives audio) from each endpoint id or display name. */
  waitForMediaFrom(
    who: string[],
    timeoutMs?: number,
    audio?: boolean,
  ): Promise<Record<string, JitsiReceive>>;
  /** The remote tracks lib-jitsi-meet has now (added and not removed). */
  remoteTracks(): Promise<{ participantId: string; kind: string }[]>;
  /** The ICE servers of its connection to the shard (from XEP-0215). */
  iceServers(): Promise<RTCIceServer[]>;
  /** The SSRCs of the remote description: what the focus told it it receives. */
  remoteSsrcs(): Promise<number[]>;
  /** Whether lib-jitsi-meet shows the remote participant's track of `kind` muted (null: none). */
  remoteMuted(participantId: string, kind: 'audio' | 'video'): Promise<boolean | null>;
  sendChat(text: string): Promise<void>;
  /** The groupchat messages it received: sender's endpoint id and text. */
  chatMessages(): Promise<{ from: string; text: string }[]>;
  /** Kicks a participant (a moderator's right). */
  kick(participantId: string): Promise<void>;
  /** Whether it was kicked out of the conference. */
  wasKicked(): Promise<boolean>;
  /** Mutes or unmutes its local track of `kind`. */
  setMuted(kind: 'audio' | 'video', muted: boolean): Promise<void>;
  /** The bridge channel's URL (from the session-initiate) and whether it is open. */
  bridgeChannel(): Promise<{ url?: string; open: boolean }>;
  /** The endpoint ids DOMINANT_SPEAKER_CHANGED named, in order. */
  dominantSpeakers(): Promise<string[]>;
  /** Sends an endpoint message over the bridge channel (`''`: to everyone). */
  sendEndpointMessage(to: string, payload: object): Promise<void>;
  /** The ENDPOINT_MESSAGE_RECEIVED events: sender's endpoint id and payload. */
  endpointMessages(): Promise<{ from: string; payload: unknown }[]>;
  /** Sends ReceiverVideoConstraints (lib-jitsi-meet's setReceiverConstraints). */
  setReceiverConstraints(constraints: object): Promise<void>;
  /** Shares its screen in place of its camera (a desktop track), or its camera again. */
  shareScreen(sharing: boolean): Promise<void>;
  /** The video type lib-jitsi-meet gives the remote participant's video track (null: none). */
  remoteVideoType(participantId: string): Promise<string | null>;
  /** The endpoint ids lib-jitsi-meet takes as forwarded (LAST_N_ENDPOINTS_CHANGED), if told. */
  forwardedEndpoints(): Promise<string[] | null>;
  /** Leaves the conference and closes the page. */
  leave(): Promise<void>;
}

export interface JitsiJoinOptions {
  room: string;
  displayName?: string;
  /** A join token (lib-jitsi-meet puts it on the WebSocket URL). */
  token?: string;
  /** The shard a proxy in front of a cluster should bring the XMPP WebSocket to (`?shard=`). */
  shard?: string;
  /** The room's password (lib-jitsi-meet's conference.join(password)). */
  password?: string;
  /** The XMPP domain (hosts.domain); MUC and focus are conference.<domain> and focus.<domain>. */
  domain?: string;
}

/** lib-jitsi-meet's objects, untyped here (the page loads the library, not this file). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Untyped = any;
declare const JitsiMeetJS: Untyped;

/** Opens a page of `browser` at the shard and joins `room` with lib-jitsi-meet. */
export async function joinWithJitsi(
  browser: Browser,
  shardUrl: string,
  options: JitsiJoinOptions,
): Promise<JitsiClient> {
  scripts ??= { library: fromTarball(LIBRARY), jquery: fromTarball(JQUERY) };
  const { library, jquery } = scripts;
  const page = await browser.newPage();
  // lib-jitsi-meet's own warnings and errors, added to a failure's message.
  const log: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    const wanted = message.type() === 'warning' || message.type() === 'error';
    // sdp-interop says so of every Unified Plan description.
    if (wanted && !text.includes('does not look like plan-b')) log.push(text);
    if (log.length > 200) log.splice(0, 100);
  });
  const withLog = (error: unknown) =>
    new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- page log ---\n${log.slice(-40).join('\n')}`,
    );
  // Any page of the shard gives the client the shard's origin (a page Playwright made up
  // would be a public address space, whose requests to loopback Chromium blocks).
  await page.goto(`${shardUrl}/health/live`);
  await page.addScriptTag({ content: jquery });
  await page.evaluate(() => {
    const global = window as unknown as { jquery: unknown; jQuery: unknown };
    global.jquery = global.jQuery;
  });
  await page.addScriptTag({ content: library });
  const domain = options.domain ?? 'localhost';
  const id = await page
    .evaluate(
      async ({ room, displayName, domain, serviceUrl, token, password }) => {
        JitsiMeetJS.init({});
        JitsiMeetJS.setLogLevel(JitsiMeetJS.logLevels.WARN);
        const events = JitsiMeetJS.events;
        const connection = new JitsiMeetJS.JitsiConnection(null, token ?? null, {
          hosts: { domain, muc: `conference.${domain}`, focus: `focus.${domain}` },
          serviceUrl,
        });
        await new Promise<void>((resolve, reject) => {
          connection.addEventListener(events.connection.CONNECTION_ESTABLISHED, () => resolve());
          connection.addEventListener(events.connection.CONNECTION_FAILED, (...e: unknown[]) =>
            reject(new Error(`connection failed: ${JSON.stringify(e)}`)),
          );
          connection.connect();
        });
        const conference = connection.initJitsiConference(room, {
          p2p: { enabled: false },
          disableSimulcast: false,
        });
        let kicked = false;
        conference.on(events.conference.KICKED, () => (kicked = true));
        const messages: { from: string; text: string }[] = [];
        conference.on(events.conference.MESSAGE_RECEIVED, (from: string, text: string) =>
          messages.push({ from, text }),
        );
        let remote: { track: Untyped; participantId: string }[] = [];
        conference.on(events.conference.TRACK_REMOVED, (track: Untyped) => {
          remote = remote.filter((entry) => entry.track !== track);
        });
        conference.on(events.conference.TRACK_ADDED, (track: Untyped) => {
          if (track.isLocal()) return;
          remote.push({ track, participantId: track.getParticipantId() });
          const element = document.createElement(track.getType() === 'video' ? 'video' : 'audio');
          element.autoplay = true;
          (element as HTMLVideoElement).muted = true;
          document.body.appendChild(element);
          track.attach(element);
        });
        const speakers: string[] = [];
        conference.on(events.conference.DOMINANT_SPEAKER_CHANGED, (id: string) =>
          speakers.push(id),
        );
        const endpointMessages: { from: string; payload: unknown }[] = [];
        conference.on(
          events.conference.ENDPOINT_MESSAGE_RECEIVED,
          (participant: Untyped, payload: unknown) =>
            endpointMessages.push({ from: participant.getId(), payload }),
        );
        let forwarded: string[] | null = null;
        conference.on(events.conference.LAST_N_ENDPOINTS_CHANGED, () => {
          forwarded = [...(conference.rtc._lastNEndpoints ?? [])];
        });
        const failures: string[] = [];
        conference.on(events.conference.CONFERENCE_FAILED, (e: unknown) =>
          failures.push(String(e)),
        );
        // Chromium's fake microphone now and then fails to start (NotReadableError, "Could
        // not start audio source") when many pages of one browser capture: ask again once.
        const tracks = await JitsiMeetJS.createLocalTracks({ devices: ['audio', 'video'] }).catch(
          async () => {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            return JitsiMeetJS.createLocalTracks({ devices: ['audio', 'video'] });
          },
        );
        for (const track of tracks) await conference.addTrack(track);
        if (displayName) conference.setDisplayName(displayName);
        const joined = new Promise<void>((resolve, reject) => {
          conference.on(events.conference.CONFERENCE_JOINED, () => resolve());
          conference.on(events.conference.CONFERENCE_FAILED, (e: unknown) =>
            reject(new Error(`conference failed: ${String(e)}`)),
          );
        });
        conference.join(password);
        await joined;
        const hook = {
          connection,
          conference,
          failures,
          async receiveStats() {
            const pc = conference.jvbJingleSession?.peerconnection?.peerconnection as
              RTCPeerConnection | undefined;
            const result: Record<
              string,
              { displayName?: string; framesDecoded: number; audioPacketsReceived: number }
            > = {};
            if (!pc) return result;
            const stats = [...(await pc.getStats()).values()];
            for (const { track, participantId } of remote) {
              const trackId = track.getTrack().id;
              const entry = (result[participantId] ??= {
                displayName: conference.getParticipantById(participantId)?.getDisplayName(),
                framesDecoded: 0,
                audioPacketsReceived: 0,
              });
              for (const s of stats) {
                if (s.type !== 'inbound-rtp' || s.trackIdentifier !== trackId) continue;
                if (s.kind === 'video') entry.framesDecoded += s.framesDecoded ?? 0;
                else entry.audioPacketsReceived += s.packetsReceived ?? 0;
              }
            }
            return result;
          },
          remoteMuted(participantId: string, kind: string) {
            const participant = conference.getParticipantById(participantId);
            const [track] = participant?.getTracksByMediaType(kind) ?? [];
            return track ? (track.isMuted() as boolean) : null;
          },
          async sendChat(text: string) {
            conference.sendTextMessage(text);
          },
          chatMessages() {
            return messages;
          },
          async kick(participantId: string) {
            conference.kickParticipant(participantId);
          },
          wasKicked() {
            return kicked;
          },
          iceServers() {
            const pc = conference.jvbJingleSession?.peerconnection?.peerconnection;
            return (pc?.getConfiguration().iceServers ?? []) as RTCIceServer[];
          },
          remoteSsrcs() {
            const sdp: string =
              conference.jvbJingleSession?.peerconnection?.peerconnection?.remoteDescription?.sdp ??
              '';
            const ssrcs = [...sdp.matchAll(/^a=ssrc:(\d+) /gm)].map((m) => Number(m[1]));
            return [...new Set(ssrcs)].sort((x, y) => x - y);
          },
          remoteTracks() {
            return remote.map(({ track, participantId }) => ({
              participantId,
              kind: track.getType() as string,
            }));
          },
          async setMuted(kind: string, muted: boolean) {
            const track = tracks.find((t: Untyped) => t.getType() === kind);
            await (muted ? track.mute() : track.unmute());
          },
          bridgeChannel() {
            const channel = conference.rtc._channel;
            return { url: channel?._wsUrl as string | undefined, open: !!channel?.isOpen() };
          },
          dominantSpeakers() {
            return speakers;
          },
          async sendEndpointMessage(to: string, payload: object) {
            conference.sendEndpointMessage(to, payload);
          },
          endpointMessages() {
            return endpointMessages;
          },
          async setReceiverConstraints(constraints: object) {
            conference.setReceiverConstraints(constraints);
          },
          forwardedEndpoints() {
            return forwarded;
          },
          async shareScreen(sharing: boolean) {
            const current = conference.getLocalVideoTrack();
            // A desktop capture may come with its audio: the video replaces the camera.
            const next = (
              sharing ? await JitsiMeetJS.createLocalTracks({ devices: ['desktop'] }) : tracks
            ).find((t: Untyped) => t.getType() === 'video');
            await conference.replaceTrack(current, next);
          },
          remoteVideoType(participantId: string) {
            const participant = conference.getParticipantById(participantId);
            const [track] = participant?.getTracksByMediaType('video') ?? [];
            return track ? (track.getVideoType() as string) : null;
          },
          async leave() {
            await conference.leave();
            await connection.disconnect();
          },
        };
        (window as unknown as { jitsi: typeof hook }).jitsi = hook;
        return conference.myUserId() as string;
      },
      {
        room: options.room,
        displayName: options.displayName,
        token: options.token,
        password: options.password,
        domain,
        serviceUrl: `${shardUrl.replace(/^http/, 'ws')}/xmpp-websocket${
          options.shard ? `?shard=${encodeURIComponent(options.shard)}` : ''
        }`,
      },
    )
    .catch((error: unknown) => {
      throw withLog(error);
    });
  type Hook = Pick<
    JitsiClient,
    | 'receiveStats'
    | 'iceServers'
    | 'remoteSsrcs'
    | 'remoteTracks'
    | 'remoteMuted'
    | 'sendChat'
    | 'chatMessages'
    | 'kick'
    | 'wasKicked'
    | 'setMuted'
    | 'bridgeChannel'
    | 'dominantSpeakers'
    | 'sendEndpointMessage'
    | 'endpointMessages'
    | 'setReceiverConstraints'
    | 'forwardedEndpoints'
    | 'shareScreen'
    | 'remoteVideoType'
    | 'leave'
  >;
  const receiveStats = () =>
    page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.receiveStats());
  return {
    page,
    id,
    receiveStats,
    async waitForMediaFrom(who, timeoutMs = 20_000, audio = true) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const stats = await receiveStats();
        const flowing = who.every((name) =>
          Object.entries(stats).some(
            ([endpoint, s]) =>
              (endpoint === name || s.displayName === name) &&
              s.framesDecoded > 0 &&
              (!audio || s.audioPacketsReceived > 0),
          ),
        );
        if (flowing) return stats;
        if (Date.now() > deadline)
          throw withLog(
            `no media from ${who.join(', ')} within ${timeoutMs} ms: ${JSON.stringify(stats)}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    remoteMuted: (participantId, kind) =>
      page.evaluate(([p, k]) => (window as unknown as { jitsi: Hook }).jitsi.remoteMuted(p, k), [
        participantId,
        kind,
      ] as const),
    sendChat: (text) =>
      page.evaluate((t) => (window as unknown as { jitsi: Hook }).jitsi.sendChat(t), text),
    kick: (participantId) =>
      page.evaluate((p) => (window as unknown as { jitsi: Hook }).jitsi.kick(p), participantId),
    wasKicked: () => page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.wasKicked()),
    chatMessages: () =>
      page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.chatMessages()),
    iceServers: () =>
      page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.iceServers()),
    remoteSsrcs: () =>
      page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.remoteSsrcs()),
    remoteTracks: () =>
      page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.remoteTracks()),
    setMuted: (kind, muted) =>
      page.evaluate(([k, m]) => (window as unknown as { jitsi: Hook }).jitsi.setMuted(k, m), [
        kind,
        muted,
      ] as const),
    bridgeChannel: () =>
      page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.bridgeChannel()),
    dominantSpeakers: () =>
      page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.dominantSpeakers()),
    sendEndpointMessage: (to, payload) =>
      page.evaluate(
        ([t, p]) => (window as unknown as { jitsi: Hook }).jitsi.sendEndpointMessage(t, p),
        [to, payload] as const,
      ),
    endpointMessages: () =>
      page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.endpointMessages()),
    setReceiverConstraints: (constraints) =>
      page.evaluate(
        (c) => (window as unknown as { jitsi: Hook }).jitsi.setReceiverConstraints(c),
        constraints,
      ),
    shareScreen: (sharing) =>
      page.evaluate((on) => (window as unknown as { jitsi: Hook }).jitsi.shareScreen(on), sharing),
    remoteVideoType: (participantId) =>
      page.evaluate(
        (p) => (window as unknown as { jitsi: Hook }).jitsi.remoteVideoType(p),
        participantId,
      ),
    forwardedEndpoints: () =>
      page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.forwardedEndpoints()),
    leave: async () => {
      await page.evaluate(() => (window as unknown as { jitsi: Hook }).jitsi.leave());
      // Its camera and microphone would go on capturing: many such pages starve Chromium.
      await page.close();
    },
  };
}
