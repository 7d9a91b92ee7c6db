/**
 * The shard's embedded TURN/STUN server against coturn's own client, turnutils_uclient:
 * UDP with channels and with Send indications, TCP, TLS, REST credentials from the join
 * answer and from the shared secret, refusals (credentials, peers, unknown attributes,
 * quotas) and, with the server alone in a process, relay sockets that all close again.
 */
import { ChildProcess } from 'node:child_process';
import { turnRestCredentials } from '../../src/turn/turn-credentials';
import { NodeParticipant } from '../support/node-participant';
import { startShard, TestShard } from '../support/shard';
import {
  randomPort,
  socketCount,
  StandaloneTurn,
  startPeer,
  startStandaloneTurn,
  uclient,
  Certificate,
  selfSignedCertificate,
} from '../support/turn-tools';

const SECRET = 'embedded-turn-shared-secret';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(read: () => T | Promise<T>, done: (value: T) => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(100);
  }
}

describe('embedded TURN server in the shard (turnutils_uclient)', () => {
  const processes: ChildProcess[] = [];
  let certificate: Certificate;
  let shard: TestShard;
  let client: NodeParticipant;
  let peerPort: number;
  let deniedPeerPort: number;
  let turnPort: number;
  let tlsPort: number;
  let credentials: { username: string; credential: string };

  /** uclient options for the allowed peer, on the plain port unless given others. */
  const relay = (
    options: string[],
    auth = ['-u', credentials.username, '-w', credentials.credential],
  ) =>
    uclient([
      ...auth,
      '-e',
      '127.0.0.1',
      '-r',
      String(peerPort),
      '-p',
      String(turnPort),
      ...options,
      '127.0.0.1',
    ]);

  beforeAll(async () => {
    certificate = await selfSignedCertificate();
    peerPort = await randomPort();
    deniedPeerPort = await randomPort();
    processes.push(
      await startPeer('127.0.0.1', peerPort),
      await startPeer('127.0.0.2', deniedPeerPort),
    );
    shard = await startShard({
      TURN_MODE: 'embedded',
      TURN_SECRET: SECRET,
      // Loopback is refused like any private range: only the test peer's address is let in.
      TURN_ALLOWED_PEER_RANGES: '127.0.0.1/32',
      TURN_TLS_CERT_FILE: certificate.certFile,
      TURN_TLS_KEY_FILE: certificate.keyFile,
      TURN_USER_QUOTA: '20',
    });
    client = await NodeParticipant.connect(shard.baseUrl);
  });

  afterAll(async () => {
    client?.close();
    await shard?.close();
    processes.forEach((child) => child.kill());
    certificate?.remove();
  });

  it('hands out stun, turn (UDP, TCP) and turns URLs with REST credentials in the join answer', async () => {
    const { iceServers } = await client.join('turn-room', 'Relayed');
    const urls = iceServers.flatMap((server) => server.urls);
    const stun = urls.find((url) => url.startsWith('stun:'));
    turnPort = Number(/:(\d+)$/.exec(stun!)![1]);
    expect(urls).toEqual(
      expect.arrayContaining([
        `stun:127.0.0.1:${turnPort}`,
        `turn:127.0.0.1:${turnPort}?transport=udp`,
        `turn:127.0.0.1:${turnPort}?transport=tcp`,
        expect.stringMatching(/^turns:127\.0\.0\.1:\d+\?transport=tcp$/),
      ]),
    );
    tlsPort = Number(
      /^turns:127\.0\.0\.1:(\d+)/.exec(urls.find((u) => u.startsWith('turns:'))!)![1],
    );
    const turn = iceServers.find((server) => String(server.urls).includes('turn:'))!;
    expect(turn.username).toMatch(/^\d+:guest-/);
    credentials = { username: turn.username!, credential: turn.credential! };
  });

  it('relays UDP through channels and through Send indications, both ways, without loss', async () => {
    const channels = await relay(['-n', '50', '-m', '2', '-l', '500']);
    expect(channels.output).toMatch(/Total lost packets 0 \(0\.0+%\)/);
    expect(channels.received).toBe(100);
    expect(channels.ok).toBe(true);

    const indications = await relay(['-s', '-n', '50', '-m', '2', '-l', '500']);
    expect(indications.output).toMatch(/Total lost packets 0 \(0\.0+%\)/);
    expect(indications.received).toBe(100);
  });

  it('relays for clients on TCP (RFC 5766 framing), with channels and indications', async () => {
    for (const mode of [[], ['-s']]) {
      const result = await relay(['-t', ...mode, '-n', '50', '-m', '2', '-l', '700']);
      expect(result.output).toMatch(/Total lost packets 0 \(0\.0+%\)/);
      expect(result.received).toBe(100);
    }
  });

  it('relays for clients on TLS with the configured certificate', async () => {
    // turnutils_uclient offers TLS 1.1 on some connections at random; the server only
    // speaks TLS 1.2 and 1.3, so those attempts are refused and retried.
    const overTls = () => relay(['-t', '-S', '-c', '-n', '30', '-p', String(tlsPort)]);
    let result = await overTls();
    for (let attempt = 0; !result.ok && attempt < 15; attempt++) {
      expect(result.output).toMatch(/protocol version|cannot connect/);
      result = await overTls();
    }
    expect(result.output).toMatch(/method=TLSv1\.[23]/);
    expect(result.output).toMatch(/Total lost packets 0 \(0\.0+%\)/);
    expect(result.ok).toBe(true);
  });

  it('accepts credentials derived from the shared secret (-W), and loses nothing at a moderate rate', async () => {
    const result = await relay(
      ['-c', '-n', '200', '-m', '8', '-l', '1000', '-z', '10'],
      ['-W', SECRET, '-u', 'secret-user'],
    );
    expect(result.output).toMatch(/Total lost packets 0 \(0\.0+%\)/);
    expect(result.received).toBe(1600);
  });

  it('counts its allocations on /metrics while a client holds them', async () => {
    const allocations = async () => {
      const text = await (await fetch(`${shard.baseUrl}/metrics`)).text();
      return Number(/^videowindow_turn_allocations (\d+)$/m.exec(text)?.[1]);
    };
    const running = relay(['-c', '-n', '150', '-m', '1']);
    expect(await waitFor(allocations, (n) => n >= 1)).toBeGreaterThanOrEqual(1);
    expect((await running).ok).toBe(true);
  });

  it('refuses forged and expired credentials', async () => {
    const forged = await relay(
      ['-n', '5'],
      ['-u', credentials.username, '-w', `x${credentials.credential}`],
    );
    expect(forged.ok).toBe(false);
    expect(forged.output).toMatch(/Cannot complete Allocation/);

    const expired = turnRestCredentials(SECRET, 'late', 60, Date.now() - 3_600_000);
    const late = await relay(['-n', '5'], ['-u', expired.username, '-w', expired.credential]);
    expect(late.ok).toBe(false);
    expect(late.output).toMatch(/Cannot complete Allocation/);
  });

  it('refuses peers outside the allow-list with 403, for channels and for permissions', async () => {
    for (const mode of [[], ['-s']]) {
      const result = await uclient([
        ...['-u', credentials.username, '-w', credentials.credential],
        ...['-e', '127.0.0.2', '-r', String(deniedPeerPort), '-p', String(turnPort)],
        ...mode,
        ...['-n', '5', '127.0.0.1'],
      ]);
      expect(result.ok).toBe(false);
      expect(result.output).toMatch(/error 403 \(Forbidden\)/);
    }
  });

  it('answers 420 Unknown Attribute to an attribute it does not implement (DONT-FRAGMENT)', async () => {
    const result = await relay(['-g', '-n', '5']);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/error 420/);
  });

  // (turnutils_uclient -m N holds 2N allocations.)
  it("refuses a user's allocations beyond the quota with 486", async () => {
    const result = await relay(['-c', '-n', '5', '-m', '11'], ['-W', SECRET, '-u', 'greedy']);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/error 486 \(Allocation Quota Reached\)/);
  });
});

describe('embedded TURN server alone: expiry, capacity and cleanup', () => {
  let server: StandaloneTurn;
  let peer: ChildProcess;
  let peerPort: number;

  const relay = (options: string[]) =>
    uclient([
      ...['-W', SECRET, '-u', 'cleanup', '-e', '127.0.0.1', '-r', String(peerPort)],
      ...['-p', String(server.port), ...options, '127.0.0.1'],
    ]);

  beforeAll(async () => {
    peerPort = await randomPort();
    peer = await startPeer('127.0.0.1', peerPort);
    server = await startStandaloneTurn({
      LOG_LEVEL: 'debug',
      TURN_SECRET: SECRET,
      TURN_ALLOWED_PEER_RANGES: '127.0.0.1',
      // Short lifetimes: allocations the client leaves behind expire within seconds.
      // (turnutils_uclient does not refresh within seconds, so its runs must be shorter.)
      TURN_DEFAULT_LIFETIME_SECONDS: '10',
      TURN_MAX_LIFETIME_SECONDS: '10',
      TURN_USER_QUOTA: '100',
      TURN_TOTAL_QUOTA: '30',
    });
  });

  afterAll(async () => {
    await server?.stop();
    peer?.kill();
  });

  it('closes every relay socket once allocations expire or are released', async () => {
    const baseline = socketCount(server.pid);
    const running = relay(['-n', '60', '-m', '10', '-l', '200']);
    const busiest = await waitFor(
      () => socketCount(server.pid),
      (count) => count >= baseline + 10,
    );
    expect(busiest).toBeGreaterThanOrEqual(baseline + 10);
    const result = await running;
    expect(result.ok).toBe(true);
    expect(result.lost).toBe(0);

    // Allocations the client left expire after 10 s; ports reserved for RTCP pairs
    // (EVEN-PORT) that were never claimed after 30 s.
    expect(
      await waitFor(
        () => socketCount(server.pid),
        (count) => count === baseline,
        45_000,
      ),
    ).toBe(baseline);
  }, 90_000);

  it('refuses allocations beyond its total capacity with 508, then recovers', async () => {
    const baseline = socketCount(server.pid);
    const result = await relay(['-c', '-n', '5', '-m', '31']);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/error 508 \(Insufficient Capacity\)/);
    expect(
      await waitFor(
        () => socketCount(server.pid),
        (count) => count === baseline,
      ),
    ).toBe(baseline);
    const after = await relay(['-c', '-n', '5', '-m', '1']);
    expect(after.lost).toBe(0);

    // Everything it logged, at debug level, names users but never the secret.
    expect(server.output()).toMatch(/TURN allocation created/);
    expect(server.output()).not.toContain(SECRET);
  });
});
