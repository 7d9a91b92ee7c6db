/**
 * Abuse limits over real HTTP: registration and the token endpoints each have their own
 * per-address budget (configurable), answered with 429 once spent.
 */
import { portalApi } from '../support/portal-api';
import { startShard, TestShard } from '../support/shard';

const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };

describe('portal rate limits', () => {
  let shard: TestShard;
  const http = portalApi(() => shard);

  beforeAll(async () => {
    shard = await startShard({
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      REGISTRATION_RATE_LIMIT_PER_MINUTE: '2',
      TOKEN_RATE_LIMIT_PER_MINUTE: '3',
    });
  });
  afterAll(() => shard.close());

  const account = (n: number) => ({
    email: `user${n}@example.org`,
    password: 'user-password',
    displayName: `User ${n}`,
  });

  it('limits registrations per address', async () => {
    expect((await http.register(account(1))).status).toBe(201);
    expect((await http.register(account(2))).status).toBe(201);
    const refused = await http.register(account(3));
    expect(refused.status).toBe(429);
    expect(refused.body.message).toBe(
      'too many registrations from this address; try again in a minute',
    );
    // Logins have their own budget.
    const { email, password } = account(1);
    expect((await http.login({ email, password })).status).toBe(200);
  });

  it('limits join-token minting and token refresh per address', async () => {
    const admin = (await http.login(ADMIN)).body;
    const mint = () =>
      http.call(
        'POST',
        '/admin/join-tokens',
        { room: 'limited', identity: 'i', name: 'N', role: 'guest' },
        admin.accessToken,
      );
    for (let i = 0; i < 3; i++) expect((await mint()).status).toBe(201);
    const refused = await mint();
    expect(refused.status).toBe(429);
    expect(refused.body.message).toBe(
      'too many token requests from this address; try again in a minute',
    );

    const meeting = await http.call('POST', '/meetings', { title: 'M' }, admin.accessToken);
    const meetingToken = () =>
      http.call('POST', `/meetings/${meeting.body.id}/join-token`, undefined, admin.accessToken);
    for (let i = 0; i < 3; i++) expect((await meetingToken()).status).toBe(201);
    expect((await meetingToken()).status).toBe(429);

    let refreshToken = admin.refreshToken;
    for (let i = 0; i < 3; i++) {
      const pair = await http.refresh(refreshToken);
      expect(pair.status).toBe(200);
      refreshToken = pair.body.refreshToken;
    }
    expect((await http.refresh(refreshToken)).status).toBe(429);
  });
});

describe('portal rate limits as shipped', () => {
  // The fuzz tests raise every limit through the environment; this suite keeps
  // config/default.yaml's.
  let shard: TestShard;
  const http = portalApi(() => shard);

  beforeAll(async () => {
    shard = await startShard();
  });
  afterAll(() => shard.close());

  const account = (n: number) => ({
    email: `shipped${n}@example.org`,
    password: 'user-password',
    displayName: `User ${n}`,
  });

  it('takes 10 registrations a minute from an address', async () => {
    for (let n = 1; n <= 10; n++) expect((await http.register(account(n))).status).toBe(201);
    expect((await http.register(account(11))).status).toBe(429);
  });

  it('locks an account after 5 failed logins and takes 20 logins a minute', async () => {
    const { email, password } = account(1);
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect((await http.login({ email, password: 'wrong-password' })).status).toBe(401);
    }
    const locked = await http.login({ email, password });
    expect(locked.status).toBe(429);
    expect(locked.body.message).toBe('account locked after 5 failed logins; try again later');
    for (let attempt = 7; attempt <= 20; attempt++) {
      expect((await http.login({ email, password })).body.message).toMatch(/^account locked/);
    }
    const limited = await http.login({ email, password });
    expect(limited.status).toBe(429);
    expect(limited.body.message).toBe(
      'too many login attempts from this address; try again in a minute',
    );
  });
});
