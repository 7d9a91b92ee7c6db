/**
 * Access tokens naming an account this database does not have, on SQLite and PostgreSQL:
 * minted with the shared secret elsewhere (as another shard with its own database does),
 * or of an account deleted since. Every route that takes an access token answers 401
 * saying so: never a 2xx, and never a 500 from the database (a meeting's host is a
 * foreign key).
 */
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ACCESS_TOKEN_AUDIENCE } from '../../src/portal/auth/access-tokens';
import { User } from '../../src/portal/users/user.entity';
import { portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';
import { TEST_DATABASES, TestDatabase } from '../support/test-databases';

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };
const UNKNOWN_ACCOUNT = 'the account of this access token does not exist on this server';

type Route = [method: string, path: string, body?: unknown];

describe.each(TEST_DATABASES.map((kind) => [kind.name, kind] as const))(
  'access tokens of unknown accounts on %s',
  (_name, kind) => {
    let database: TestDatabase;
    let shard: TestShard;
    const http = portalApi(() => shard);
    let meetingId: string;

    /** An access token as another shard, sharing the JWT secret, would mint it. */
    const mintedElsewhere = (role: 'user' | 'admin') => {
      const { jwtSecret, jwtIssuer } = shard.config.auth;
      return new JwtService({ secret: jwtSecret }).sign(
        { sub: randomUUID(), role },
        { issuer: jwtIssuer, audience: ACCESS_TOKEN_AUDIENCE, expiresIn: 900 },
      );
    };

    const signUp = async (name: string) => {
      const account = { email: `${name}@example.org`, password: `${name}-password` };
      expect((await http.register({ ...account, displayName: name })).status).toBe(201);
      return (await http.login(account)).body.accessToken as string;
    };

    /** Every route that takes an access token, with a body it would accept. */
    const routes = (): Route[] => [
      ['GET', '/me'],
      ['GET', '/turn/credentials'],
      ['POST', '/meetings', { title: 'Mine' }],
      ['GET', '/meetings'],
      ['GET', `/meetings/${meetingId}`],
      ['PATCH', `/meetings/${meetingId}`, { title: 'Taken over' }],
      ['POST', `/meetings/${meetingId}/join-token`],
      ['DELETE', `/meetings/${meetingId}`],
      ['GET', '/admin/shard'],
      ['POST', '/admin/join-tokens', { room: 'r', identity: 'i', name: 'n', role: 'moderator' }],
      ['POST', '/admin/api-keys', { name: 'k' }],
      ['GET', '/admin/api-keys'],
    ];

    /** Each route's `method path: status message`, all of them, for one readable diff. */
    const answers = async (list: Route[], token: string) => {
      const lines: string[] = [];
      for (const [method, path, body] of list) {
        const { status, body: answer } = await http.call(method, path, body, token);
        lines.push(`${method} ${path}: ${status} ${answer.message}`);
      }
      return lines;
    };
    const refusals = (list: Route[]) =>
      list.map(([method, path]) => `${method} ${path}: 401 ${UNKNOWN_ACCOUNT}`);

    beforeAll(async () => {
      database = await kind.create();
      shard = await startShard({
        ...database.env,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
      });
      const admin = (await http.login(ADMIN)).body.accessToken;
      meetingId = (await http.call('POST', '/meetings', { title: 'Here' }, admin)).body.id;
    });

    afterAll(async () => {
      await shard?.close();
      await database?.drop();
    });

    it("refuses other shards' tokens, a user's and an administrator's alike", async () => {
      for (const role of ['user', 'admin'] as const) {
        expect(await answers(routes(), mintedElsewhere(role))).toEqual(refusals(routes()));
      }
    });

    it('refuses the token of a deleted account at once', async () => {
      const token = await signUp('leaver');
      const { body: profile } = await http.me(token);
      expect((await http.call('POST', '/meetings', { title: 'Mine' }, token)).status).toBe(201);
      await shard.app.get(DataSource).getRepository(User).delete(profile.id);
      const ownRoutes = routes().slice(0, 4);
      expect(await answers(ownRoutes, token)).toEqual(refusals(ownRoutes));
    });
  },
);
