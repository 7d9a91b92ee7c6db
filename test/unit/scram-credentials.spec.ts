import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import {
  createScramCredentials,
  SCRAM_MECHANISMS,
  scramCredential,
  ScramMechanism,
  scramServerSignature,
  verifyScramClientProof,
} from '../../src/portal/users/scram-credentials';

/** The example exchanges of RFC 5802 section 5 and RFC 7677 section 3: "user", "pencil". */
const RFC_EXCHANGES = [
  {
    mechanism: 'SCRAM-SHA-1' as ScramMechanism,
    clientFirstBare: 'n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinalWithoutProof: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j',
    salt: 'QSXCR+Q6sek8bf92',
    proof: 'v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverSignature: 'rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  {
    mechanism: 'SCRAM-SHA-256' as ScramMechanism,
    clientFirstBare: 'n=user,r=rOprNGfwEbeRWgbNEkqO',
    serverFirst:
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinalWithoutProof: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
    proof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
];

/** A client proof computed the way RFC 5802 section 3 tells a client to. */
function clientProof(
  mechanism: ScramMechanism,
  password: string,
  salt: Buffer,
  authMessage: string,
) {
  const { hash, keyLength } = SCRAM_MECHANISMS[mechanism];
  const saltedPassword = pbkdf2Sync(password, salt, 4096, keyLength, hash);
  const clientKey = createHmac(hash, saltedPassword).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  return Buffer.from(clientKey.map((byte, i) => byte ^ signature[i])).toString('base64');
}

describe.each(RFC_EXCHANGES)('$mechanism against the RFC example', (exchange) => {
  const authMessage = [
    exchange.clientFirstBare,
    exchange.serverFirst,
    exchange.clientFinalWithoutProof,
  ].join(',');
  const credential = scramCredential(
    exchange.mechanism,
    'pencil',
    Buffer.from(exchange.salt, 'base64'),
    4096,
  );

  it('accepts the RFC client proof and answers the RFC server signature', () => {
    expect(credential.salt).toBe(exchange.salt);
    expect(credential.iterations).toBe(4096);
    expect(
      verifyScramClientProof(exchange.mechanism, credential, authMessage, exchange.proof),
    ).toBe(true);
    expect(scramServerSignature(exchange.mechanism, credential, authMessage)).toBe(
      exchange.serverSignature,
    );
  });

  it('computes the same proof as the RFC client does', () => {
    const proof = clientProof(
      exchange.mechanism,
      'pencil',
      Buffer.from(exchange.salt, 'base64'),
      authMessage,
    );
    expect(proof).toBe(exchange.proof);
  });

  it('refuses a proof from a wrong password or for another message', () => {
    const salt = Buffer.from(exchange.salt, 'base64');
    const wrong = clientProof(exchange.mechanism, 'pen', salt, authMessage);
    expect(verifyScramClientProof(exchange.mechanism, credential, authMessage, wrong)).toBe(false);
    expect(
      verifyScramClientProof(exchange.mechanism, credential, `${authMessage}x`, exchange.proof),
    ).toBe(false);
    expect(verifyScramClientProof(exchange.mechanism, credential, authMessage, 'AAAA')).toBe(false);
  });
});

describe('createScramCredentials', () => {
  it('stores a verifier per mechanism, with distinct random salts, that accepts the password', () => {
    const credentials = createScramCredentials('correct horse');
    expect(Object.keys(credentials).sort()).toEqual(['SCRAM-SHA-1', 'SCRAM-SHA-256']);
    const salts = Object.values(credentials).map((credential) => credential.salt);
    expect(new Set(salts).size).toBe(2);
    for (const mechanism of Object.keys(credentials) as ScramMechanism[]) {
      const credential = credentials[mechanism];
      const authMessage = 'n=alice,r=abc,r=abcdef,s=c2FsdA==,i=4096,c=biws,r=abcdef';
      const salt = Buffer.from(credential.salt, 'base64');
      const proof = clientProof(mechanism, 'correct horse', salt, authMessage);
      expect(verifyScramClientProof(mechanism, credential, authMessage, proof)).toBe(true);
    }
  });
});
