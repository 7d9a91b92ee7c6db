/**
 * API keys and the admin API's authorization over real HTTP, on SQLite and PostgreSQL:
 * administrators create, list and revoke keys; a key mints join tokens and calls the
 * admin API; users, anonymous callers, revoked keys and forged secrets are refused.
 */
import { DataSource } from 'typeorm';
import { ApiKey } from '../../src/portal/api-keys/api-key.entity';
import { JoinTokenService } from '../../src/portal/join-token.service';
import { Answer, apiKeyAuthorization, portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';
import { TEST_DATABASES, TestDatabase } from '../support/test-databases';

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };

const basic = apiKeyAuthorization;

/** Every admin API route that API keys may call, with a harmless request body. */
const ADMIN_ROUTES: [string, string, unknown?][] = [
  ['GET', '/admin/shard'],
  ['GET', '/admin/rooms'],
  ['GET', '/admin/rooms/some-room'],
  ['DELETE', '/admin/rooms/some-room'],
  ['POST', '/admin/rooms/some-room/lock'],
  ['DELETE', '/admin/rooms/some-room/lock'],
  ['POST', '/admin/rooms/some-room/participants/someone/kick'],
  ['POST', '/admin/rooms/some-room/participants/someone/mute', { kind: 'audio' }],
  ['POST', '/admin/join-tokens', { room: 'r', identity: 'i', name: 'n', role: 'guest' }],
];
const KEY_ROUTES: [string, string, unknown?][] = [
  ['POST', '/admin/api-keys', { name: 'k' }],
  ['GET', '/admin/api-keys'],
  ['DELETE', '/admin/api-keys/VW0000'],
];

describe.each(TEST_DATABASES.map((kind) => [kind.name, kind] as const))(
  'API keys and admin authorization on %s',
  (_name, kind) => {
    let database: TestDatabase;
    let shard: TestShard;
    const http = portalApi(() => shard);
    let adminToken: string;
    let userToken: string;

    const withAuth = async (
      authorization: string | undefined,
      [method, path, body]: [string, string, unknown?],
    ) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization) headers.authorization = authorization;
      const response = await fetch(`${shard.baseUrl}/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : {} };
    };
    const createKey = (name: string) => http.call('POST', '/admin/api-keys', { name }, adminToken);

    beforeAll(async () => {
      database = await kind.create();
      shard = await startShard({
        ...database.env,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      });
      adminToken = (await http.login(ADMIN)).body.accessToken;
      const user = { email: 'user@example.org', password: 'user-password', displayName: 'U' };
      expect((await http.register(user)).status).toBe(201);
      userToken = (await http.login({ email: user.email, password: user.password })).body
        .accessToken;
    });

    afterAll(async () => {
      await shard?.close();
      await database?.drop();
    });

    it('shows a new key secret once and stores only its hash', async () => {
      const created = await createKey('recorder');
      expect(created.status).toBe(201);
      const { keyId, secret } = created.body;
      expect(created.body).toMatchObject({ name: 'recorder', revokedAt: null });
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const listed = await http.call('GET', '/admin/api-keys', undefined, adminToken);
      expect(listed.status).toBe(200);
      const entry = listed.body.find((key: { keyId: string }) => key.keyId === keyId);
      expect(entry).toEqual({
        keyId,
        name: 'recorder',
        createdAt: expect.any(String),
        revokedAt: null,
      });
      expect(JSON.stringify(listed.body)).not.toContain(secret);

      const stored = await shard.app
        .get(DataSource)
        .getRepository(ApiKey)
        .findOneByOrFail({ id: keyId });
      expect(stored.secretHash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(stored)).not.toContain(secret);
    });

    it('mints join tokens for any room, identity and role with an API key', async () => {
      const { keyId, secret } = (await createKey('backend')).body;
      const minted = await withAuth(basic(keyId, secret), [
        'POST',
        '/admin/join-tokens',
        {
          room: 'board-room',
          identity: 'user-42',
          name: 'Ada',
          role: 'moderator',
          ttlSeconds: 600,
        },
      ]);
      expect(minted.status).toBe(201);
      expect(minted.body).toMatchObject({
        room: 'board-room',
        identity: 'user-42',
        role: 'moderator',
        expiresIn: 600,
        url: expect.stringMatching(/^\/r\/board-room\?token=/),
      });
      expect(shard.app.get(JoinTokenService).verify(minted.body.token)).toEqual({
        room: 'board-room',
        identity: 'user-42',
        name: 'Ada',
        role: 'moderator',
      });
      // An administrator's access token works too.
      const byAdmin = await withAuth(`Bearer ${adminToken}`, [
        'POST',
        '/admin/join-tokens',
        { room: 'r1', identity: 'x', name: 'X', role: 'guest' },
      ]);
      expect(byAdmin.status).toBe(201);
      expect(byAdmin.body.expiresIn).toBe(shard.config.auth.tokenTtlSeconds);
    });

    it('answers invalid bodies with 400 naming each problem', async () => {
      const { keyId, secret } = (await createKey('validator')).body;
      const bad = await withAuth(basic(keyId, secret), [
        'POST',
        '/admin/join-tokens',
        { room: '../etc', identity: '', name: 'n', role: 'king', ttlSeconds: 5, extra: 1 },
      ]);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe('Bad Request');
      const messages = (bad.body.message as string[]).join('\n');
      for (const problem of [
        'room must be',
        'identity',
        'role must be one of',
        'ttlSeconds',
        'extra',
      ])
        expect(messages).toContain(problem);
      expect((await createKey('')).status).toBe(400);
      const mute = await withAuth(basic(keyId, secret), [
        'POST',
        '/admin/rooms/r/participants/p/mute',
        { kind: 'screen' },
      ]);
      expect(mute.status).toBe(400);
      expect(mute.body.message).toEqual(['kind must be one of the following values: audio, video']);
    });

    it('answers null fields and control characters with 400 naming them', async () => {
      const { keyId, secret } = (await createKey('hostile input')).body;
      const mint = (body: object) =>
        withAuth(basic(keyId, secret), [
          'POST',
          '/admin/join-tokens',
          { room: 'r', identity: 'i', name: 'n', role: 'guest', ...body },
        ]);
      const refusals: [() => Promise<Answer>, string][] = [
        [() => createKey(null as unknown as string), 'name must be a string'],
        [() => mint({ ttlSeconds: null }), 'ttlSeconds must be an integer number'],
        [() => createKey('printer\u0000'), 'name must not contain control characters'],
        [() => mint({ identity: 'i\u0007' }), 'identity must not contain control characters'],
        [() => mint({ name: '\ud83d' }), 'the request body has a string with a lone surrogate'],
      ];
      const answers = [];
      for (const [send, problem] of refusals) {
        const { status, body } = await send();
        answers.push([problem, status, body.message]);
      }
      expect(answers).toEqual(
        refusals.map(([, problem]) => [problem, 400, expect.arrayContaining([problem])]),
      );
    });

    it('takes key ids of another shape for unknown keys, asking no database', async () => {
      const { secret } = (await createKey('shapes')).body;
      const malformed = ['VW\u0000', 'x'.repeat(500), '\u00e9', 'VW0000'];
      const answers = [];
      for (const id of malformed) {
        const revoke = await http.call(
          'DELETE',
          `/admin/api-keys/${encodeURIComponent(id)}`,
          undefined,
          adminToken,
        );
        const { status, body } = await withAuth(basic(id, secret), ['GET', '/admin/shard']);
        answers.push([revoke.status, revoke.body.message, status, body.message]);
      }
      expect(answers).toEqual(
        malformed.map((id) => [
          404,
          `no API key ${id}`,
          401,
          'unknown or revoked API key, or wrong secret',
        ]),
      );
    });

    it('refuses anonymous callers, users, forged secrets and revoked keys', async () => {
      const { keyId, secret } = (await createKey('soon revoked')).body;
      const refusals: [string | undefined, number][] = [
        [undefined, 401],
        ['Bearer not-a-token', 401],
        [`Bearer ${userToken}`, 403],
        [basic(keyId, `${secret.slice(0, -1)}x`), 401],
        [basic('VWFFFFFFFFFFFFFFFFFFFF', secret), 401],
        ['Basic bm8tY29sb24=', 401],
        ['Basic', 401],
      ];
      for (const route of [...ADMIN_ROUTES, ...KEY_ROUTES]) {
        for (const [authorization, status] of refusals) {
          const answer = await withAuth(authorization, route);
          expect([route.join(' '), authorization, answer.status]).toEqual([
            route.join(' '),
            authorization,
            status,
          ]);
        }
      }
      // Keys call the admin API but do not manage keys.
      expect((await withAuth(basic(keyId, secret), ['GET', '/admin/shard'])).status).toBe(200);
      for (const route of KEY_ROUTES) {
        expect((await withAuth(basic(keyId, secret), route)).status).toBe(403);
      }

      expect(
        (await http.call('DELETE', `/admin/api-keys/${keyId}`, undefined, userToken)).status,
      ).toBe(403);
      expect(
        (await http.call('DELETE', `/admin/api-keys/${keyId}`, undefined, adminToken)).status,
      ).toBe(204);
      expect(
        (await http.call('DELETE', '/admin/api-keys/VWNOPE', undefined, adminToken)).status,
      ).toBe(404);
      for (const route of ADMIN_ROUTES) {
        const answer = await withAuth(basic(keyId, secret), route);
        expect([route.join(' '), answer.status, answer.body.message]).toEqual([
          route.join(' '),
          401,
          'unknown or revoked API key, or wrong secret',
        ]);
      }
      const listed = await http.call('GET', '/admin/api-keys', undefined, adminToken);
      const entry = listed.body.find((key: { keyId: string }) => key.keyId === keyId);
      expect(entry.revokedAt).toEqual(expect.any(String));
    });
  },
);
