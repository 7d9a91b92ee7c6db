/** The OpenAPI document and Swagger UI, generated from the controllers and DTOs. */
import { startShard, TestShard } from '../support/shard';

describe('OpenAPI', () => {
  let shard: TestShard;
  beforeAll(async () => {
    shard = await startShard();
  });
  afterAll(() => shard.close());

  it('lists every REST endpoint with its security and request schemas', async () => {
    const response = await fetch(`${shard.baseUrl}/api/docs-json`);
    expect(response.status).toBe(200);
    const document = await response.json();
    expect(document.openapi).toMatch(/^3\./);
    const operations = Object.entries(document.paths as Record<string, object>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /api/v1/auth/register',
        'POST /api/v1/auth/login',
        'POST /api/v1/auth/refresh',
        'POST /api/v1/auth/logout',
        'GET /api/v1/me',
        'POST /api/v1/meetings',
        'GET /api/v1/meetings',
        'GET /api/v1/meetings/{id}',
        'PATCH /api/v1/meetings/{id}',
        'DELETE /api/v1/meetings/{id}',
        'POST /api/v1/meetings/{id}/join-token',
        'GET /api/v1/turn/credentials',
        'POST /api/v1/admin/api-keys',
        'GET /api/v1/admin/api-keys',
        'DELETE /api/v1/admin/api-keys/{keyId}',
        'POST /api/v1/admin/join-tokens',
        'GET /api/v1/admin/shard',
        'GET /api/v1/admin/rooms',
        'GET /api/v1/admin/rooms/{room}',
        'DELETE /api/v1/admin/rooms/{room}',
        'POST /api/v1/admin/rooms/{room}/lock',
        'DELETE /api/v1/admin/rooms/{room}/lock',
        'POST /api/v1/admin/rooms/{room}/participants/{participantId}/kick',
        'POST /api/v1/admin/rooms/{room}/participants/{participantId}/mute',
        'GET /api/v1/admin/rooms/{room}/breakouts',
        'POST /api/v1/admin/rooms/{room}/breakouts',
        'DELETE /api/v1/admin/rooms/{room}/breakouts',
      ]),
    );
    expect(operations.some((operation) => operation.includes('/r/'))).toBe(false);

    expect(document.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKey: expect.objectContaining({ type: 'http', scheme: 'basic' }),
    });
    const mint = document.paths['/api/v1/admin/join-tokens'].post;
    expect(mint.security).toEqual(expect.arrayContaining([{ bearer: [] }, { apiKey: [] }]));
    const schemas = document.components.schemas;
    expect(schemas.MintJoinTokenDto.required).toEqual(['room', 'identity', 'name', 'role']);
    expect(schemas.MintJoinTokenDto.properties.role.enum).toEqual([
      'moderator',
      'participant',
      'guest',
    ]);
    // The schemas say what validation enforces: required fields, integers, lengths.
    expect(schemas.MeetingDto.required).toEqual(['title']);
    expect(schemas.UpdateMeetingDto.required).toBeUndefined();
    expect(schemas.MeetingDto.properties.maxParticipants).toMatchObject({
      type: 'integer',
      nullable: true,
    });
    expect(schemas.MintJoinTokenDto.properties.ttlSeconds).toMatchObject({
      type: 'integer',
      minimum: 60,
    });
    expect(schemas.CreateApiKeyDto.properties.name).toMatchObject({ minLength: 1, maxLength: 100 });
    expect(Object.keys(schemas.RegisterDto.properties)).toEqual([
      'email',
      'password',
      'displayName',
    ]);
    expect(schemas.RoomAdminView.properties.participants.items.$ref).toBe(
      '#/components/schemas/ParticipantAdminView',
    );

    // Responses name their schemas: the meetings list, a created meeting and the profile.
    const okSchema = (path: string, method: string, status: string) =>
      document.paths[path][method].responses[status].content['application/json'].schema;
    expect(okSchema('/api/v1/meetings', 'get', '200')).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/MeetingView' },
    });
    expect(okSchema('/api/v1/meetings', 'post', '201')).toEqual({
      $ref: '#/components/schemas/MeetingView',
    });
    expect(Object.keys(schemas.MeetingView.properties)).toEqual([
      'id',
      'room',
      'title',
      'hostId',
      'createdAt',
      'link',
      'hasPassword',
      'lobby',
      'maxParticipants',
    ]);
    expect(schemas.MeetingView.properties.maxParticipants).toMatchObject({
      type: 'number',
      nullable: true,
    });
    expect(okSchema('/api/v1/me', 'get', '200')).toEqual({
      $ref: '#/components/schemas/UserProfile',
    });
    expect(okSchema('/api/v1/auth/register', 'post', '201')).toEqual({
      $ref: '#/components/schemas/UserProfile',
    });
    expect(Object.keys(schemas.UserProfile.properties)).toEqual([
      'id',
      'email',
      'displayName',
      'role',
      'createdAt',
    ]);
    expect(schemas.UserProfile.properties.role.enum).toEqual(['admin', 'user']);
    expect(okSchema('/api/v1/meetings/{id}/join-token', 'post', '201')).toEqual({
      $ref: '#/components/schemas/MeetingJoinToken',
    });
  });

  it('serves Swagger UI', async () => {
    const response = await fetch(`${shard.baseUrl}/api/docs`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('swagger-ui');
  });
});
