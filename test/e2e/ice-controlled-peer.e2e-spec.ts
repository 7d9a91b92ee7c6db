/**
 * A WebRTC peer that stays ICE-controlled reaches mediasoup (worker patch 0004).
 *
 * lib-jitsi-meet answers the focus's offer without reading a=ice-lite, so Chrome keeps
 * the controlled role that an answerer takes against a full agent, and mediasoup (lite,
 * controlled too) used to answer its checks with 487: ICE never connected. Here Chromium
 * answers an offer built from a mediasoup WebRtcTransport without a=ice-lite, exactly
 * that situation, and must reach "connected" (ICE and DTLS) on both sides.
 *
 * The mediasoup side is a small Node process, first of a loopback-only network
 * namespace that Chromium enters (test/support/netns-shard); it speaks JSON lines. With
 * the unpatched worker Chromium reports "failed" after about 15 s.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { launchChromiumInNetns, type NetnsBrowser, REPO_ROOT } from '../support/netns-shard';

const MEDIASOUP_SIDE = `
const mediasoup = require('mediasoup');
const out = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
// A page to open: Chromium gathers no ICE candidates for about:blank.
require('node:http').createServer((req, res) => res.end('ok')).listen(8080, '127.0.0.1');
(async () => {
  const worker = await mediasoup.createWorker();
  const router = await worker.createRouter({
    mediaCodecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }],
  });
  const transport = await router.createWebRtcTransport({
    listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }],
  });
  transport.on('icestatechange', (ice) => out({ ice }));
  transport.on('dtlsstatechange', (dtls) => out({ dtls }));
  const { iceParameters, iceCandidates, dtlsParameters } = transport;
  out({ transport: { iceParameters, iceCandidates, dtlsParameters } });
  require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
    transport.connect({ dtlsParameters: JSON.parse(line) }).catch((e) => out({ error: e.message }));
  });
})().catch((e) => { out({ error: e.message }); process.exit(1); });
`;

interface TransportParams {
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: { foundation: string; priority: number; address: string; port: number }[];
  dtlsParameters: { fingerprints: { algorithm: string; value: string }[] };
}

interface SideMessage {
  transport?: TransportParams;
  ice?: string;
  dtls?: string;
  error?: string;
}

/** mediasoup's transport as a full ICE agent's offer: no a=ice-lite, as lib-jitsi-meet writes it. */
function offerWithoutIceLite({ iceParameters, iceCandidates, dtlsParameters }: TransportParams) {
  const fingerprint = dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')!;
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${iceParameters.usernameFragment}`,
    `a=ice-pwd:${iceParameters.password}`,
    `a=fingerprint:sha-256 ${fingerprint.value}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=recvonly',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    ...iceCandidates.map(
      (c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.address} ${c.port} typ host`,
    ),
    'a=end-of-candidates',
    '',
  ].join('\r\n');
}

describe('an ICE-controlled WebRTC peer (Chromium answering an offer without a=ice-lite)', () => {
  let side: ChildProcessWithoutNullStreams | undefined;
  let chromium: NetnsBrowser | undefined;
  const messages: SideMessage[] = [];
  const waiters: (() => boolean)[] = [];

  const nextMessage = (match: (m: SideMessage) => boolean, timeoutMs = 20_000) =>
    new Promise<SideMessage>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`mediasoup side said only ${JSON.stringify(messages)}`)),
        timeoutMs,
      );
      const check = () => {
        const found = messages.find(match);
        if (!found) return false;
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      if (!check()) waiters.push(check);
    });

  beforeAll(async () => {
    side = spawn(
      'unshare',
      ['-n', 'sh', '-c', 'ip link set lo up && exec node -e "$0"', MEDIASOUP_SIDE],
      {
        cwd: REPO_ROOT,
      },
    );
    createInterface({ input: side.stdout }).on('line', (line) => {
      messages.push(JSON.parse(line) as SideMessage);
      for (const waiter of waiters.splice(0)) if (!waiter()) waiters.push(waiter);
    });
    chromium = await launchChromiumInNetns(side.pid!);
  }, 30_000);

  afterAll(async () => {
    await chromium?.close();
    side?.kill('SIGKILL');
  });

  it('connects ICE and DTLS on both sides', async () => {
    const { transport } = await nextMessage((m) => !!m.transport || !!m.error);
    expect(transport).toBeDefined();
    const page = await chromium!.browser.newPage();
    await page.goto('http://127.0.0.1:8080/');
    const answer = await page.evaluate(async (offer) => {
      const pc = new RTCPeerConnection();
      (window as unknown as { pc: RTCPeerConnection }).pc = pc;
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      // Something to send, so that the m-line is not inactive.
      const [track] = new AudioContext().createMediaStreamDestination().stream.getTracks();
      const [transceiver] = pc.getTransceivers();
      await transceiver.sender.replaceTrack(track);
      transceiver.direction = 'sendonly';
      await pc.setLocalDescription(await pc.createAnswer());
      return pc.localDescription!.sdp;
    }, offerWithoutIceLite(transport!));
    // Chrome answers as the DTLS client.
    expect(answer).toMatch(/a=setup:active/);
    const [, algorithm, value] = /a=fingerprint:(\S+) (\S+)/.exec(answer)!;
    side!.stdin.write(
      JSON.stringify({ role: 'client', fingerprints: [{ algorithm, value }] }) + '\n',
    );

    const connected = await page
      .waitForFunction(
        () => {
          const { connectionState } = (window as unknown as { pc: RTCPeerConnection }).pc;
          return connectionState === 'connected' || connectionState === 'failed'
            ? connectionState
            : false;
        },
        undefined,
        { polling: 100, timeout: 30_000 },
      )
      .then((state) => state.jsonValue())
      .catch(() =>
        page.evaluate(() => {
          const { pc } = window as unknown as { pc: RTCPeerConnection };
          return `still ${pc.connectionState} (ICE ${pc.iceConnectionState}, gathering ${pc.iceGatheringState})`;
        }),
      );
    expect({ connected, mediasoup: messages }).toMatchObject({ connected: 'connected' });
    // Chrome kept the controlled role: it sent the checks mediasoup used to refuse.
    const role = await page.evaluate(async () => {
      const stats = await (window as unknown as { pc: RTCPeerConnection }).pc.getStats();
      return [...stats.values()].find((s: { type: string }) => s.type === 'transport')
        ?.iceRole as string;
    });
    expect(role).toBe('controlled');
    await nextMessage((m) => m.ice === 'connected' || m.ice === 'completed');
    await nextMessage((m) => m.dtls === 'connected');
    expect(messages.filter((m) => m.error)).toEqual([]);
  }, 60_000);
});
