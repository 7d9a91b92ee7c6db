/**
 * Accounts over real HTTP against a real shard, once on SQLite and once on PostgreSQL:
 * registration, login, profile, access tokens, rotating refresh tokens, lockout.
 */
import { JwtService } from '@nestjs/jwt';
import { JoinTokenService } from '../../src/portal/join-token.service';
import { portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';
import { TEST_DATABASES, TestDatabase } from '../support/test-databases';

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };

describe.each(TEST_DATABASES.map((kind) => [kind.name, kind] as const))(
  'portal accounts on %s',
  (_name, kind) => {
    let database: TestDatabase;
    let shard: TestShard;
    const env = () => ({
      ...database.env,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOGIN_MAX_FAILURES: '3',
      LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      REGISTRATION_RATE_LIMIT_PER_MINUTE: '1000',
    });
    const http = portalApi(() => shard);
    const alice = { email: 'Alice@Example.org', password: 'alice-password', displayName: 'Alice' };

    beforeAll(async () => {
      database = await kind.create();
      shard = await startShard(env());
    });

    afterAll(async () => {
      await shard?.close();
      await database?.drop();
    });

    it('registers an account and shows no secrets', async () => {
      const { status, body } = await http.register(alice);
      expect(status).toBe(201);
      expect(body).toEqual({
        id: expect.any(String),
        email: 'alice@example.org',
        displayName: 'Alice',
        role: 'user',
        createdAt: expect.any(String),
      });
    });

    it('refuses a second account with the same e-mail, in any case', async () => {
      const { status, body } = await http.register({ ...alice, email: 'ALICE@example.org' });
      expect(status).toBe(409);
      expect(body.message).toBe('an account with this e-mail already exists');
    });

    it('answers 400 naming each problem of a bad registration', async () => {
      const { status, body } = await http.register({
        email: 'not-an-email',
        password: 'short',
        role: 'admin',
      });
      expect(status).toBe(400);
      expect(body.error).toBe('Bad Request');
      expect(body.message).toEqual(
        expect.arrayContaining([
          'property role should not exist',
          'email must be an email',
          'password must be longer than or equal to 8 characters',
          'displayName must be a string',
        ]),
      );
    });

    it('answers 400, never 500 or a false 409, to what the database would refuse', async () => {
      const eve = { email: 'eve@example.org', password: 'eve-password', displayName: 'Eve' };
      // Stored lower-case, this address is 255 characters long: one too many.
      const longLowerCase = `İ${'a'.repeat(62)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.org`;
      const refusals: [object, string][] = [
        [{ ...eve, displayName: 'Eve\u0000' }, 'displayName must not contain control characters'],
        [{ ...eve, displayName: null }, 'displayName must be a string'],
        [{ ...eve, email: longLowerCase }, 'email must be shorter than or equal to 254 characters'],
      ];
      const answers = [];
      for (const [body, problem] of refusals) {
        const { status, body: answer } = await http.register(body);
        answers.push([problem, status, answer.message]);
      }
      expect(answers).toEqual(
        refusals.map(([, problem]) => [problem, 400, expect.arrayContaining([problem])]),
      );
      expect((await http.register(eve)).status).toBe(201);
    });

    it('answers 400 to an e-mail with a lone surrogate, where the e-mail check threw', async () => {
      for (const answer of [
        await http.register({ ...alice, email: '\ud800' }),
        await http.login({ email: '\ud800', password: alice.password }),
      ]) {
        expect(answer.status).toBe(400);
        expect(answer.body.message).toEqual([
          'the request body has a string with a lone surrogate',
        ]);
      }
    });

    it('answers 409 to the loser of two registrations racing for one e-mail', async () => {
      const racer = { email: 'racer@example.org', password: 'racer-password', displayName: 'R' };
      const answers = await Promise.all([http.register(racer), http.register(racer)]);
      expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
      const lost = answers.find((answer) => answer.status === 409)!;
      expect(lost.body.message).toBe('an account with this e-mail already exists');
    });

    it('logs in and shows the profile to the access token', async () => {
      const login = await http.login({ email: 'alice@example.org', password: alice.password });
      expect(login.status).toBe(200);
      expect(login.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
      const me = await http.me(login.body.accessToken);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ email: 'alice@example.org', role: 'user' });
    });

    it('seeds the administrator from the environment', async () => {
      const login = await http.login(ADMIN);
      expect(login.status).toBe(200);
      const me = await http.me(login.body.accessToken);
      expect(me.body).toMatchObject({ email: ADMIN.email, role: 'admin' });
    });

    it('refuses a wrong password and an unknown e-mail alike', async () => {
      const wrong = await http.login({ email: ADMIN.email, password: 'wrong-password' });
      const unknown = await http.login({ email: 'nobody@example.org', password: 'whatever' });
      for (const answer of [wrong, unknown]) {
        expect(answer.status).toBe(401);
        expect(answer.body.message).toBe('wrong e-mail or password');
      }
      expect((await http.login({ email: 'x@example.org' })).status).toBe(400);
    });

    it('refuses missing, forged, expired and join tokens on /api/v1/me', async () => {
      const { jwtSecret, jwtIssuer } = shard.config.auth;
      const login = await http.login(ADMIN);
      const me = await http.me(login.body.accessToken);
      const claims = { sub: me.body.id, role: 'admin', iss: jwtIssuer, aud: 'video-window-portal' };
      const forged = new JwtService({ secret: 'another-secret' }).sign(claims);
      const expired = new JwtService({ secret: jwtSecret }).sign({
        ...claims,
        exp: Math.floor(Date.now() / 1000) - 60,
      });
      const joinToken = shard.app
        .get(JoinTokenService)
        .mint({ room: 'demo', identity: me.body.id, name: 'A', role: 'moderator' });
      for (const token of [undefined, 'garbage', forged, expired, joinToken]) {
        const answer = await http.me(token);
        expect(answer.status).toBe(401);
        expect(answer.body).toMatchObject({ statusCode: 401, message: 'Unauthorized' });
      }
    });

    it('rotates refresh tokens and revokes the session when a used one comes back', async () => {
      const login = await http.login(ADMIN);
      const first = login.body.refreshToken;
      const second = await http.refresh(first);
      expect(second.status).toBe(200);
      expect(second.body.refreshToken).not.toBe(first);
      expect((await http.me(second.body.accessToken)).status).toBe(200);

      const reused = await http.refresh(first);
      expect(reused.status).toBe(401);
      expect(reused.body.message).toBe('refresh token reused: the session is revoked');
      const afterReuse = await http.refresh(second.body.refreshToken);
      expect(afterReuse.status).toBe(401);
      expect(afterReuse.body.message).toBe('refresh token revoked');

      expect((await http.refresh('unknown-token')).status).toBe(401);
      expect((await http.refresh(42)).status).toBe(400);
    });

    it('logs out by revoking the refresh token', async () => {
      const login = await http.login(ADMIN);
      const logout = await http.logout(login.body.refreshToken);
      expect(logout.status).toBe(204);
      const refresh = await http.refresh(login.body.refreshToken);
      expect(refresh.status).toBe(401);
      expect(refresh.body.message).toBe('refresh token revoked');
      expect((await http.logout('unknown-token')).status).toBe(204);
    });

    it('locks an account after 3 failed logins, even for the right password', async () => {
      const bob = { email: 'bob@example.org', password: 'bob-password', displayName: 'Bob' };
      expect((await http.register(bob)).status).toBe(201);
      for (let attempt = 0; attempt < 3; attempt++)
        expect((await http.login({ email: bob.email, password: 'wrong-password' })).status).toBe(
          401,
        );
      const locked = await http.login({ email: bob.email, password: bob.password });
      expect(locked.status).toBe(429);
      expect(locked.body).toMatchObject({
        statusCode: 429,
        error: 'Too Many Requests',
        message: 'account locked after 3 failed logins; try again later',
      });
      // Other accounts are not affected.
      expect((await http.login(ADMIN)).status).toBe(200);
    });

    it('keeps accounts across a restart (the migrations run once)', async () => {
      await shard.close();
      shard = await startShard(env());
      const login = await http.login({ email: alice.email, password: alice.password });
      expect(login.status).toBe(200);
    });
  },
);

describe('portal with registration turned off and a login rate limit', () => {
  let shard: TestShard;
  const http = portalApi(() => shard);

  beforeAll(async () => {
    shard = await startShard({ REGISTRATION_ENABLED: 'false', LOGIN_RATE_LIMIT_PER_MINUTE: '2' });
  });

  afterAll(() => shard?.close());

  it('refuses registrations', async () => {
    const { status, body } = await http.register({
      email: 'carol@example.org',
      password: 'carol-password',
      displayName: 'Carol',
    });
    expect(status).toBe(403);
    expect(body.message).toBe('registration is turned off on this server');
  });

  it('answers 429 once an address exceeds the login rate', async () => {
    const attempt = () => http.login({ email: 'carol@example.org', password: 'whatever' });
    expect((await attempt()).status).toBe(401);
    expect((await attempt()).status).toBe(401);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({
      statusCode: 429,
      message: 'too many login attempts from this address; try again in a minute',
    });
  });
});
