/**
 * External coturn mode: the shard hands out TURN REST credentials for a coturn running
 * with use-auth-secret, and coturn's own client relays with them (and fails without).
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { NodeParticipant } from '../support/node-participant';
import { portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';

const run = promisify(execFile);
const SECRET = 'coturn-shared-secret-for-tests';
const TURN_PORT = 30000 + (process.pid % 10000);
const PEER_PORT = TURN_PORT + 1;

async function waitForUdpPort(port: number) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { stdout } = await run('ss', ['-lun', `sport = :${port}`]);
    if (stdout.includes(`:${port}`)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on udp ${port}`);
}

/** turnutils_uclient relaying UDP messages to turnutils_peer through coturn. */
const relay = (username: string, password: string) =>
  run(
    'turnutils_uclient',
    ['-u', username, '-w', password, '-e', '127.0.0.1', '-r', String(PEER_PORT)].concat([
      '-n',
      '20',
      '-m',
      '1',
      '-l',
      '200',
      '-p',
      String(TURN_PORT),
      '127.0.0.1',
    ]),
    { timeout: 30000 },
  ).then(
    ({ stdout, stderr }) => ({ ok: true, output: stdout + stderr }),
    (error: { stdout?: string; stderr?: string }) => ({
      ok: false,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );

describe('external coturn mode', () => {
  const processes: ChildProcess[] = [];
  let shard: TestShard;
  let client: NodeParticipant;

  beforeAll(async () => {
    processes.push(
      spawn('turnserver', [
        ...['-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1'],
        ...[`--listening-port=${TURN_PORT}`, '--use-auth-secret'],
        ...[`--static-auth-secret=${SECRET}`, '--realm=video-window', '--allow-loopback-peers'],
        ...['--no-cli', '--no-tls', '--no-dtls', '--log-file=stdout'],
      ]),
      spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(PEER_PORT)]),
    );
    await Promise.all([waitForUdpPort(TURN_PORT), waitForUdpPort(PEER_PORT)]);
    shard = await startShard({
      TURN_MODE: 'external',
      TURN_SECRET: SECRET,
      TURN_URLS: `turn:127.0.0.1:${TURN_PORT}?transport=udp`,
    });
    client = await NodeParticipant.connect(shard.baseUrl);
  });

  afterAll(async () => {
    client?.close();
    await shard?.close();
    processes.forEach((child) => child.kill());
  });

  it('hands out credentials that coturn accepts, and only those', async () => {
    const { iceServers } = await client.join('relayed', 'Relayed');
    const turn = iceServers.find((server) => String(server.urls).startsWith('turn:'));
    expect(turn).toMatchObject({
      urls: [`turn:127.0.0.1:${TURN_PORT}?transport=udp`],
      username: expect.stringMatching(/^\d+:guest-/),
    });
    const expiry = Number(turn!.username!.split(':')[0]);
    expect(expiry - Date.now() / 1000).toBeGreaterThan(3500);

    const relayed = await relay(turn!.username!, turn!.credential!);
    expect(relayed.output).toMatch(/Total lost packets 0 \(0\.0+%\)/);
    expect(relayed.ok).toBe(true);

    const forged = await relay(turn!.username!, `x${turn!.credential}`);
    expect(forged.ok).toBe(false);
    expect(forged.output).toMatch(/Cannot complete Allocation/);
  });

  it('gives signed-in users the same credentials over REST, and nobody else', async () => {
    const http = portalApi(() => shard);
    const account = { email: 'turn@example.org', password: 'correct horse battery' };
    expect((await http.register({ ...account, displayName: 'Turn User' })).status).toBe(201);
    const { accessToken } = (await http.login(account)).body;

    expect((await http.call('GET', '/turn/credentials')).status).toBe(401);
    const answer = await http.call('GET', '/turn/credentials', undefined, accessToken);
    expect(answer.status).toBe(200);
    const { iceServers } = answer.body as {
      iceServers: { urls: string[]; username: string; credential: string }[];
    };
    const [turn] = iceServers;
    expect(turn.username).toMatch(/^\d+:user-/);
    expect((await relay(turn.username, turn.credential)).ok).toBe(true);
  });

  it('refuses to start with an external TURN server but no secret', async () => {
    await expect(startShard({ TURN_MODE: 'external', TURN_URLS: 'turn:x' })).rejects.toThrow(
      /external TURN server needs turn.secret/,
    );
  });
});
