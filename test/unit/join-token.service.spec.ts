import { JwtService } from '@nestjs/jwt';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { DomainError } from '../../src/conference/domain-error';
import { JoinTokenService } from '../../src/portal/join-token.service';

const config = loadConfig({ NODE_ENV: 'test' }, join(__dirname, '..', '..', 'config'));
const tokens = new JoinTokenService(config);
const grant = { room: 'demo', identity: 'alice', name: 'Alice', role: 'moderator' as const };

const rejection = (token: string) => {
  try {
    tokens.verify(token);
  } catch (error) {
    return error as DomainError;
  }
  throw new Error('token was accepted');
};

describe('JoinTokenService', () => {
  it('round-trips a grant', () => {
    expect(tokens.verify(tokens.mint(grant))).toEqual(grant);
  });

  it('rejects expired tokens', () => {
    const expired = new JwtService({ secret: config.auth.jwtSecret }).sign(
      { ...grant, sub: 'alice', iat: 1000, exp: 2000 },
      { issuer: config.auth.jwtIssuer },
    );
    expect(rejection(expired)).toMatchObject({
      code: 'unauthorized',
      message: 'join token expired',
    });
  });

  it('rejects tokens signed with another secret, another issuer or alg none', () => {
    const forged = new JwtService({ secret: 'not-the-secret' }).sign(
      { ...grant, sub: 'alice' },
      { issuer: config.auth.jwtIssuer },
    );
    expect(rejection(forged).code).toBe('unauthorized');
    const otherIssuer = new JwtService({ secret: config.auth.jwtSecret }).sign(
      { ...grant, sub: 'alice' },
      { issuer: 'someone-else' },
    );
    expect(rejection(otherIssuer).code).toBe('unauthorized');
    const header = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    const body = Buffer.from(JSON.stringify({ ...grant, sub: 'alice' })).toString('base64url');
    expect(rejection(`${header}.${body}.`).code).toBe('unauthorized');
    expect(rejection('garbage').code).toBe('unauthorized');
  });

  it('rejects tokens without a room or with an unknown role', () => {
    const signer = new JwtService({ secret: config.auth.jwtSecret });
    const noRoom = signer.sign({ sub: 'a', name: 'A', role: 'guest' }, { issuer: 'video-window' });
    expect(rejection(noRoom).message).toMatch(/lacks room/);
    const badRole = signer.sign({ ...grant, sub: 'a', role: 'king' }, { issuer: 'video-window' });
    expect(rejection(badRole).code).toBe('unauthorized');
  });
});
