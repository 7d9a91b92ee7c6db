import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SCRAM verifiers (RFC 5802, RFC 7677): what a server stores to check a SCRAM
 * authentication without knowing the password. Binary values are base64.
 */
export interface ScramCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

export const SCRAM_MECHANISMS = {
  'SCRAM-SHA-1': { hash: 'sha1', keyLength: 20 },
  'SCRAM-SHA-256': { hash: 'sha256', keyLength: 32 },
} as const;
export type ScramMechanism = keyof typeof SCRAM_MECHANISMS;
export type ScramCredentials = Record<ScramMechanism, ScramCredential>;

/** RFC 7677 asks for at least 4096 iterations. */
export const SCRAM_ITERATIONS = 4096;

const hmac = (hash: string, key: Buffer, data: string) =>
  createHmac(hash, key).update(data).digest();

/** Derives the verifier for a password, salt and iteration count (RFC 5802 section 3). */
export function scramCredential(
  mechanism: ScramMechanism,
  password: string,
  salt: Buffer,
  iterations = SCRAM_ITERATIONS,
): ScramCredential {
  const { hash, keyLength } = SCRAM_MECHANISMS[mechanism];
  const saltedPassword = pbkdf2Sync(password, salt, iterations, keyLength, hash);
  const clientKey = hmac(hash, saltedPassword, 'Client Key');
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: createHash(hash).update(clientKey).digest('base64'),
    serverKey: hmac(hash, saltedPassword, 'Server Key').toString('base64'),
  };
}

/** Fresh verifiers for every supported mechanism, each with its own random salt. */
export function createScramCredentials(password: string): ScramCredentials {
  return {
    'SCRAM-SHA-1': scramCredential('SCRAM-SHA-1', password, randomBytes(16)),
    'SCRAM-SHA-256': scramCredential('SCRAM-SHA-256', password, randomBytes(16)),
  };
}

/**
 * Checks a client proof (base64) for an AuthMessage: ClientKey = proof XOR
 * HMAC(StoredKey, AuthMessage), then H(ClientKey) must equal StoredKey.
 */
export function verifyScramClientProof(
  mechanism: ScramMechanism,
  credential: ScramCredential,
  authMessage: string,
  clientProof: string,
): boolean {
  const { hash } = SCRAM_MECHANISMS[mechanism];
  const storedKey = Buffer.from(credential.storedKey, 'base64');
  const proof = Buffer.from(clientProof, 'base64');
  if (proof.length !== storedKey.length) return false;
  const signature = hmac(hash, storedKey, authMessage);
  const clientKey = Buffer.from(proof.map((byte, i) => byte ^ signature[i]));
  const candidate = createHash(hash).update(clientKey).digest();
  return timingSafeEqual(candidate, storedKey);
}

/** The server's signature (base64) the client checks in the server-final-message. */
export function scramServerSignature(
  mechanism: ScramMechanism,
  credential: ScramCredential,
  authMessage: string,
): string {
  const { hash } = SCRAM_MECHANISMS[mechanism];
  return hmac(hash, Buffer.from(credential.serverKey, 'base64'), authMessage).toString('base64');
}
