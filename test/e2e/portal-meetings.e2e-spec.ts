/**
 * Meetings over real HTTP against a real shard, once on SQLite and once on PostgreSQL:
 * create, list, read, rename, delete, and join tokens for the meeting's room.
 */
import { JoinTokenService } from '../../src/portal/join-token.service';
import { MeetingsService } from '../../src/portal/meetings/meetings.service';
import { portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';
import { TEST_DATABASES, TestDatabase } from '../support/test-databases';

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };

describe.each(TEST_DATABASES.map((kind) => [kind.name, kind] as const))(
  'portal meetings on %s',
  (_name, kind) => {
    let database: TestDatabase;
    let shard: TestShard;
    const http = portalApi(() => shard);
    const tokens: Record<'host' | 'guest' | 'admin', string> = { host: '', guest: '', admin: '' };
    const meetings = (token: string, method: string, path = '', body?: unknown) =>
      http.call(method, `/meetings${path}`, body, token);

    const signUp = async (name: string) => {
      const account = {
        email: `${name}@example.org`,
        password: `${name}-password`,
        displayName: name,
      };
      expect((await http.register(account)).status).toBe(201);
      const { email, password } = account;
      return (await http.login({ email, password })).body.accessToken as string;
    };

    beforeAll(async () => {
      database = await kind.create();
      shard = await startShard({
        ...database.env,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      });
      tokens.host = await signUp('host');
      tokens.guest = await signUp('guest');
      tokens.admin = (await http.login(ADMIN)).body.accessToken;
    });

    afterAll(async () => {
      await shard?.close();
      await database?.drop();
    });

    it('creates, lists, reads, renames and deletes a meeting', async () => {
      const created = await meetings(tokens.host, 'POST', '', { title: 'Stand-up' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ title: 'Stand-up', room: expect.any(String) });
      const id = created.body.id;

      expect((await meetings(tokens.host, 'GET')).body).toEqual([created.body]);
      expect((await meetings(tokens.guest, 'GET')).body).toEqual([]);
      expect((await meetings(tokens.admin, 'GET')).body).toEqual([created.body]);
      expect((await meetings(tokens.guest, 'GET', `/${id}`)).body).toEqual(created.body);

      const renamed = await meetings(tokens.host, 'PATCH', `/${id}`, { title: 'Retro' });
      expect(renamed.status).toBe(200);
      expect(renamed.body.title).toBe('Retro');

      expect((await meetings(tokens.host, 'DELETE', `/${id}`)).status).toBe(204);
      const gone = await meetings(tokens.host, 'GET', `/${id}`);
      expect(gone.status).toBe(404);
      expect(gone.body.message).toBe('no such meeting');
    });

    it('lets only the host or an admin change a meeting', async () => {
      const { body: meeting } = await meetings(tokens.host, 'POST', '', { title: 'Planning' });
      const refused = await meetings(tokens.guest, 'PATCH', `/${meeting.id}`, { title: 'Mine' });
      expect(refused.status).toBe(403);
      expect(refused.body.message).toBe('only the host or an admin may change this meeting');
      expect((await meetings(tokens.guest, 'DELETE', `/${meeting.id}`)).status).toBe(403);
      expect((await meetings(tokens.admin, 'DELETE', `/${meeting.id}`)).status).toBe(204);
    });

    it('refuses bad input and callers without an access token', async () => {
      expect((await meetings(tokens.host, 'POST', '', { title: '' })).status).toBe(400);
      const extra = await meetings(tokens.host, 'POST', '', { title: 'x', hostId: 'mine' });
      expect(extra.status).toBe(400);
      expect(extra.body.message).toEqual(['property hostId should not exist']);
      expect((await meetings(tokens.host, 'GET', '/not-a-uuid')).status).toBe(400);
      expect((await meetings('', 'GET')).status).toBe(401);
      expect((await meetings('', 'POST', '', { title: 'x' })).status).toBe(401);
    });

    /** Sends each body; every answer must be 400 and its message name the problem. */
    const expectRefusals = async (refusals: [string, string, unknown, string][]) => {
      const answers = [];
      for (const [method, path, body] of refusals) {
        const { status, body: answer } = await meetings(tokens.host, method, path, body);
        answers.push([method, body, status, answer.message]);
      }
      expect(answers).toEqual(
        refusals.map(([method, , body, problem]) => [
          method,
          body,
          400,
          expect.arrayContaining([expect.stringContaining(problem)]),
        ]),
      );
    };

    it('answers 400 naming the problem to null, missing and wrong fields', async () => {
      const { body: meeting } = await meetings(tokens.host, 'POST', '', { title: 'Kept' });
      const id = meeting.id;
      await expectRefusals([
        ['POST', '', {}, 'title must be a string'],
        ['POST', '', { title: null }, 'title must be a string'],
        ['POST', '', { title: 'x', lobby: null }, 'lobby must be a boolean value'],
        ['POST', '', { password: '0000' }, 'title must be a string'],
        ['POST', '', { title: 'x', room: null }, 'room must be 1-64 letters'],
        ['POST', '', { title: ['x'] }, 'title must be a string'],
        ['POST', '', { title: 'x', maxParticipants: '8' }, 'maxParticipants must be an integer'],
        ['POST', '', { title: 'x\u0000' }, 'title must not contain control characters'],
        ['PATCH', `/${id}`, { title: null }, 'title must be a string'],
        ['PATCH', `/${id}`, { lobby: null }, 'lobby must be a boolean value'],
      ]);
      expect((await meetings(tokens.host, 'GET', `/${id}`)).body).toEqual(meeting);
    });

    it('refuses non-object and deep bodies, lone surrogates, __proto__ and constructor', async () => {
      await expectRefusals([
        ['POST', '', [{ title: 'x' }], 'the request body must be a JSON object'],
        ['POST', '', { title: 'x\ud800' }, 'the request body has a string with a lone surrogate'],
        [
          'POST',
          '',
          JSON.parse('{"title":"x","__proto__":{"hostId":"mine"}}'),
          'property __proto__ should not exist',
        ],
        [
          'POST',
          '',
          JSON.parse('{"title":"x","constructor":{}}'),
          'property constructor should not exist',
        ],
      ]);
      const deep = `{"title":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      const nested = await http.send('POST', '/meetings', deep, tokens.host);
      expect(nested.status).toBe(400);
      expect(nested.body.message).toEqual(['the request body nests deeper than 16 levels']);
    });

    it('keeps the door rules of a meeting: room slug, password, lobby and cap', async () => {
      const created = await meetings(tokens.host, 'POST', '', {
        title: 'Board',
        room: 'board-meeting',
        password: 'p4ssword',
        lobby: true,
        maxParticipants: 8,
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        room: 'board-meeting',
        link: '/r/board-meeting',
        hasPassword: true,
        lobby: true,
        maxParticipants: 8,
      });
      expect(JSON.stringify(created.body)).not.toContain('p4ssword');
      const policy = await shard.app.get(MeetingsService).policyFor('board-meeting');
      expect(policy).toMatchObject({ lobby: true, maxParticipants: 8 });
      expect(await policy!.checkPassword!('p4ssword')).toBe(true);
      expect(await policy!.checkPassword!('wrong')).toBe(false);

      const taken = await meetings(tokens.guest, 'POST', '', { title: 'x', room: 'board-meeting' });
      expect(taken.status).toBe(409);
      expect(taken.body.message).toBe('the room name "board-meeting" is taken');
      const racing = await Promise.all(
        [tokens.host, tokens.guest].map((token) =>
          meetings(token, 'POST', '', { title: 'Race', room: 'contested' }),
        ),
      );
      expect(racing.map((answer) => answer.status).sort()).toEqual([201, 409]);
      for (const bad of [
        { room: '../etc' },
        { password: 'abc' },
        { lobby: 'yes' },
        { maxParticipants: 0 },
        { maxParticipants: 1.5 },
      ]) {
        expect((await meetings(tokens.host, 'POST', '', { title: 'x', ...bad })).status).toBe(400);
      }

      const id = created.body.id;
      const opened = await meetings(tokens.host, 'PATCH', `/${id}`, {
        password: null,
        lobby: false,
        maxParticipants: null,
      });
      expect(opened.body).toMatchObject({
        title: 'Board',
        hasPassword: false,
        lobby: false,
        maxParticipants: null,
      });
      const refused = await meetings(tokens.guest, 'PATCH', `/${id}`, { lobby: true });
      expect(refused.status).toBe(403);
      expect(await shard.app.get(MeetingsService).policyFor('no-such-room')).toBeUndefined();
    });

    it('mints room-scoped join tokens: moderator for the host, participant for others', async () => {
      const { body: meeting } = await meetings(tokens.host, 'POST', '', { title: 'Demo' });
      const verifier = shard.app.get(JoinTokenService);

      const forHost = await meetings(tokens.host, 'POST', `/${meeting.id}/join-token`);
      expect(forHost.status).toBe(201);
      expect(forHost.body).toMatchObject({ room: meeting.room, role: 'moderator' });
      expect(forHost.body.url).toBe(`/r/${meeting.room}?token=${forHost.body.token}`);
      expect(verifier.verify(forHost.body.token)).toEqual({
        room: meeting.room,
        identity: meeting.hostId,
        name: 'host',
        role: 'moderator',
      });

      const forGuest = await meetings(tokens.guest, 'POST', `/${meeting.id}/join-token`);
      expect(verifier.verify(forGuest.body.token)).toMatchObject({
        room: meeting.room,
        name: 'guest',
        role: 'participant',
      });

      const unknown = '00000000-0000-4000-8000-000000000000';
      expect((await meetings(tokens.host, 'POST', `/${unknown}/join-token`)).status).toBe(404);
    });
  },
);
