/**
 * Hostile datagrams and streams against the embedded TURN server of a real shard process
 * (a crash shows as the process exiting): each gets its STUN answer or is dropped, and
 * the shard goes on serving.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Attr, Class, decode, Method, StunBuilder, StunMessage } from '../../src/turn/stun-message';
import { turnRestCredentials } from '../../src/turn/turn-credentials';
import { ShardProcess, startShardProcess } from '../support/shard-process';
import { errorCode, requestTransportUdp, StunClient, Transport } from '../support/stun-client';

const run = promisify(execFile);
const SECRET = 'hostile-input-turn-secret';
const newId = () => randomBytes(12);
const binding = () => new StunBuilder(Method.Binding, Class.Request, newId()).build();

async function answerTo(client: StunClient, raw: Buffer): Promise<StunMessage> {
  const answer = await client.request(raw);
  if (!answer) throw new Error(`no answer over ${client.transport} to ${raw.toString('hex')}`);
  const message = decode(answer);
  if (!message) throw new Error(`an unreadable answer: ${answer.toString('hex')}`);
  expect(message.transactionId).toEqual(raw.subarray(8, 20));
  return message;
}

describe('embedded TURN server of a shard process under hostile input', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'vw-turn-hostile-'));
  let shard: ShardProcess;
  let tlsPort: number;
  const clients: StunClient[] = [];
  const open = async (transport: Transport) => {
    const port = transport === 'tls' ? tlsPort : shard.turnPort!;
    const client = await StunClient.open(transport, port);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    await run('openssl', [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-days', '1', '-subj', '/CN=127.0.0.1'],
      ...['-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')],
    ]);
    shard = await startShardProcess({
      env: {
        TURN_MODE: 'embedded',
        TURN_SECRET: SECRET,
        TURN_ALLOWED_PEER_RANGES: '127.0.0.1/32',
        TURN_TLS_CERT_FILE: join(certDir, 'cert.pem'),
        TURN_TLS_KEY_FILE: join(certDir, 'key.pem'),
      },
    });
    tlsPort = shard.turnTlsPort!;
  });

  afterEach(() => {
    clients.splice(0).forEach((client) => client.close());
    expect(shard.exited()).toBeUndefined();
  });

  afterAll(async () => {
    await shard?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  it.each(['udp', 'tcp', 'tls'] as const)(
    'answers a nonce whose signature is 24 characters but not 24 bytes with 438 (%s)',
    async (transport) => {
      const client = await open(transport);
      const { username } = turnRestCredentials(SECRET, 'mallory', 3600);
      const forged = new StunBuilder(Method.Allocate, Class.Request, newId())
        .add(Attr.RequestedTransport, requestTransportUdp)
        .addString(Attr.Username, username)
        .addString(Attr.Realm, 'video-window')
        .addString(Attr.Nonce, `ffffffff.${'é'.repeat(24)}`)
        .build(randomBytes(16));
      const answer = await answerTo(client, forged);
      expect(errorCode(answer)).toBe(438);
      expect(answer.attributes.get(Attr.Nonce)?.toString()).toMatch(/^[0-9a-f]+\.[0-9a-f]{24}$/);
      expect((await answerTo(client, binding())).cls).toBe(Class.Success);
    },
  );
});
