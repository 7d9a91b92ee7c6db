/**
 * The REST door under fuzzing. Requests for every operation of the OpenAPI document the
 * shard serves (/api/docs-json), generated from its schemas: valid bodies and mutated
 * ones (nulls, wrong types, missing and extra fields, huge, deep and non-ASCII values,
 * `__proto__` and `constructor` keys), malformed JSON and other content types, hostile
 * path parameters and queries; sent without credentials, with garbage, as a user, an
 * administrator, an API key, and as an account the database does not know. Known ids
 * (meetings, keys, refresh tokens, a live room and its participant) are mixed in, so
 * that requests reach the handlers. Every answer is below 500, a 4xx carries a JSON
 * message, and a 2xx goes only to callers the document allows. Afterwards the shard
 * runs, the canary call is healthy and every count is back at its baseline.
 */
import { JwtService } from '@nestjs/jwt';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backToBaseline,
  CanaryCall,
  fuzzParameters,
  FuzzProgress,
  fuzzTimeout,
  ObjectCounts,
  objectCounts,
} from '../support/fuzz';
import type { RecordingInfo } from '../../src/recording/recording-info';
import { NodeParticipant } from '../support/node-participant';
import { apiKeyAuthorization } from '../support/portal-api';
import { ShardProcess, startShardProcess } from '../support/shard-process';

const JWT_SECRET = 'rest-fuzz-secret-0123456789abcdef';
const JWT_ISSUER = 'video-window';
const ADMIN = { email: 'admin@example.org', password: 'admin-password-1' };
const USER = { email: 'user@example.org', password: 'user-password', displayName: 'User' };
const CANARY_ROOM = 'fuzz-canary';
const TARGET_ROOM = 'fuzz-target';
/** A finished recording in the shard's recordings folder, for its handlers to act on. */
const SEEDED_RECORDING: RecordingInfo = {
  id: 'fuzz-seeded-recording',
  room: TARGET_ROOM,
  shard: 'fuzz',
  state: 'finished',
  startedBy: 'admin',
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:00:10.000Z',
  durationSeconds: 10,
  sizeBytes: 4,
  tracks: [
    {
      file: '001-mic-fuzz.ogg',
      kind: 'audio',
      source: 'mic',
      codec: 'audio/opus',
      participant: { id: 'fuzz' },
      startedAt: '2026-01-01T00:00:00.000Z',
    },
  ],
  storage: 'local',
};
const recordingsDir = mkdtempSync(join(tmpdir(), 'vw-fuzz-recordings-'));
/** (Again, after the fuzzing deleted it.) */
function seedRecording() {
  const folder = join(recordingsDir, SEEDED_RECORDING.id);
  mkdirSync(folder, { recursive: true });
  // Dated now: the shard deletes finished recordings past their retention.
  const now = new Date().toISOString();
  const recording = { ...SEEDED_RECORDING, startedAt: now, endedAt: now };
  writeFileSync(join(folder, 'recording.json'), JSON.stringify(recording));
  writeFileSync(join(folder, SEEDED_RECORDING.tracks[0].file), 'OggS');
}

/** The subset of JSON Schema that @nestjs/swagger emits for the DTOs. */
interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  nullable?: boolean;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
}

interface OpenApiOperation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  security?: Record<string, unknown>[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Schema> };
}

interface Operation {
  method: string;
  path: string;
  /** Path parameters, in the order they appear. */
  params: string[];
  body?: Schema;
  /** Callers the document lets in (empty: anybody). */
  allowed: Caller[];
}

const CALLERS = ['nobody', 'garbage', 'user', 'admin', 'apiKey', 'unknownAccount'] as const;
type Caller = (typeof CALLERS)[number];

/**
 * A value taken from what the fuzzing learnt (ids, tokens, accounts) when the request is
 * sent; the pick is drawn by fast-check, so a seed still replays a run.
 */
class Known {
  constructor(
    readonly pool: PoolName,
    readonly pick: number,
  ) {}
}
type PoolName =
  | 'meetingId'
  | 'keyId'
  | 'room'
  | 'participantId'
  | 'refreshToken'
  | 'email'
  | 'password'
  | 'recordingId'
  | 'recordingFile';
const pools: Record<PoolName, string[]> = {
  meetingId: [],
  keyId: [],
  room: [TARGET_ROOM],
  participantId: [],
  refreshToken: [],
  email: [ADMIN.email, USER.email],
  password: [ADMIN.password, USER.password],
  recordingId: [SEEDED_RECORDING.id],
  recordingFile: [SEEDED_RECORDING.tracks[0].file],
};
/** Path parameters and body fields that known values may fill. */
const POOL_OF: Record<string, PoolName> = {
  file: 'recordingFile',
  id: 'meetingId',
  keyId: 'keyId',
  room: 'room',
  participantId: 'participantId',
  refreshToken: 'refreshToken',
  email: 'email',
  password: 'password',
};
const known = (pool: PoolName) => fc.nat().map((pick) => new Known(pool, pick));
const resolve = (value: unknown) =>
  value instanceof Known ? pools[value.pool][value.pick % pools[value.pool].length] : value;

/** An own property, even for `__proto__` (plain assignment would set the prototype). */
function withField(object: object, key: string, value: unknown): object {
  return Object.defineProperty({ ...object }, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

const nested = (depth: number): unknown => {
  let value: unknown = 'bottom';
  for (let level = 0; level < depth; level++) value = level % 2 ? [value] : { a: value };
  return value;
};

/** Values no field expects. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    1.5,
    2 ** 53,
    1e308,
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\u202egnp.exe',
    'İ'.repeat(300),
    '__proto__',
    'x'.repeat(5000),
    JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.double(),
  fc.integer(),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 2, max: 40 }).map(nested),
);

/** Texts a JSON body parser may choke on. */
const rawText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom(
    '',
    'null',
    '"x"',
    '1',
    '[]',
    '{',
    '{"a":',
    '{"a":1,}',
    "{'a':1}",
    '{"a":1}{"b":2}',
    '\ufeff{}',
    'title=x&lobby=true&__proto__[admin]=1',
  ),
  fc.integer({ min: 17, max: 30_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.constant(`{"title":"${'x'.repeat(110_000)}"}`),
);

const CONTENT_TYPES = [
  undefined,
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'application/xml',
];

const dereferenced = (schema: Schema, document: OpenApiDocument): Schema =>
  schema.$ref
    ? document.components.schemas[schema.$ref.replace('#/components/schemas/', '')]
    : schema;

/** Valid values of a schema, following $ref; fields with a pool also take known values. */
function valueOf(schema: Schema, document: OpenApiDocument, field?: string): fc.Arbitrary<unknown> {
  const target = dereferenced(schema, document);
  let value = plainValueOf(target, document);
  const pool = field && POOL_OF[field];
  // Known values more often than not: a login, say, needs both of its fields known.
  if (pool)
    value = fc.oneof({ weight: 1, arbitrary: value }, { weight: 3, arbitrary: known(pool) });
  return target.nullable ? fc.option(value, { nil: null }) : value;
}

function plainValueOf(schema: Schema, document: OpenApiDocument): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const { minLength = 0, maxLength = 40, minimum = -1e6, maximum = 1e6 } = schema;
  switch (schema.type) {
    case 'object': {
      const fields = Object.entries(schema.properties ?? {}).map(
        ([name, property]) => [name, valueOf(property, document, name)] as const,
      );
      return fc.record(Object.fromEntries(fields), { requiredKeys: schema.required ?? [] });
    }
    case 'array':
      return fc.array(valueOf(schema.items ?? {}, document), { maxLength: 3 });
    case 'integer':
      return fc.integer({ min: minimum, max: maximum });
    case 'number':
      return fc.double({ min: minimum, max: maximum, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'string':
      if (schema.format === 'email') return fc.emailAddress();
      if (schema.format === 'uuid') return fc.uuid();
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      // Half plain ASCII, so that requests with a few valid texts reach their handlers.
      return fc.oneof(
        ...(['grapheme-ascii', 'grapheme'] as const).map((unit) =>
          fc.string({ unit, minLength, maxLength: Math.min(maxLength, 40) }),
        ),
      );
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A valid body with one thing wrong: a field hostile, missing or extra, or no object. */
function mutatedOf(schema: Schema, document: OpenApiDocument): fc.Arbitrary<unknown> {
  const valid = valueOf(schema, document) as fc.Arbitrary<object>;
  const fields = Object.keys(dereferenced(schema, document).properties ?? {});
  const field = fields.length ? fc.constantFrom(...fields) : fc.constant('field');
  const extra = fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'hostId', 'role', 'id', ''),
    fc.string({ maxLength: 10 }),
  );
  return fc.oneof(
    fc.tuple(valid, field, hostileValue).map(([body, key, value]) => withField(body, key, value)),
    fc.tuple(valid, field).map(([body, key]) => {
      const copy: Record<string, unknown> = { ...body };
      delete copy[key];
      return copy;
    }),
    fc.tuple(valid, extra, hostileValue).map(([body, key, value]) => withField(body, key, value)),
    hostileValue,
  );
}

interface FuzzBody {
  value?: unknown;
  text?: string;
  contentType?: string;
}

function bodyOf(
  operation: Operation,
  document: OpenApiDocument,
): fc.Arbitrary<FuzzBody | undefined> {
  if (operation.method === 'GET') return fc.constant(undefined);
  const json = 'application/json';
  if (!operation.body) {
    return fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: hostileValue.map((value) => ({ value, contentType: json })) },
    );
  }
  const { body } = operation;
  return fc.oneof(
    {
      weight: 4,
      arbitrary: valueOf(body, document).map((value) => ({ value, contentType: json })),
    },
    {
      weight: 4,
      arbitrary: mutatedOf(body, document).map((value) => ({ value, contentType: json })),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        text: rawText,
        contentType: fc.constantFrom(json, ...CONTENT_TYPES),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        value: valueOf(body, document),
        contentType: fc.constantFrom(...CONTENT_TYPES),
      }),
    },
  );
}

/** A path parameter, percent-encoded: known, hostile or malformed. */
function paramOf(name: string, path: string): fc.Arbitrary<string | Known> {
  const hostile = fc
    .oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
      fc.uuid(),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'x'.repeat(2000), ' ', '../me'),
    )
    // Dot segments change the route; the canary's room is not the fuzzing's to end.
    .filter((value) => value !== '.' && value !== '..' && value !== CANARY_ROOM)
    .map(encodeURIComponent);
  const malformed = fc.constantFrom('%', '%E0%A4%A', '%00', '%ZZ', '%F0%9F%92%A9');
  const pool = name === 'id' && path.includes('/recordings/') ? 'recordingId' : POOL_OF[name];
  return pool
    ? fc.oneof({ weight: 4, arbitrary: known(pool) }, hostile, malformed)
    : fc.oneof(hostile, malformed);
}

const queryOf: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.webQueryParameters().map((query) => `?${query}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('?__proto__[admin]=1', '?constructor[prototype][x]=1', '?a[][]=1'),
  },
);

/** A junk Authorization header: fetch takes printable ASCII only. */
const garbageAuthorization = fc.oneof(
  fc.constantFrom('Bearer', 'Bearer ', 'Basic', 'Basic Og==', 'Basic bm8tY29sb24=', 'Digest x'),
  fc
    .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)) })
    .map((junk) => `Bearer ${junk}`),
);

interface FuzzRequest {
  operation: Operation;
  caller: Caller;
  garbage: string;
  params: (string | Known)[];
  query: string;
  body?: FuzzBody;
}

function requestOf(operations: Operation[], document: OpenApiDocument): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...operations).chain((operation) =>
    fc.record({
      operation: fc.constant(operation),
      // Half the time a caller the operation takes, so that requests reach its handler.
      caller: operation.allowed.length
        ? fc.oneof(fc.constantFrom(...operation.allowed), fc.constantFrom(...CALLERS))
        : fc.constantFrom(...CALLERS),
      garbage: garbageAuthorization,
      params: fc.tuple(...operation.params.map((name) => paramOf(name, operation.path))),
      query: queryOf,
      body: bodyOf(operation, document),
    }),
  );
}

/**
 * Operations left out: draining takes the shard out of service on purpose (the fuzzing
 * could not go on after it); test/e2e/cluster-failover drives it.
 */
const UNFUZZED = new Set(['POST /api/v1/admin/shard/drain']);

/**
 * Fuzzed, but not held to reaching their handlers with a success: a stream dials out to
 * an RTMP server (none listens here), and breakout rooms need a plan the room's live
 * participants fit; test/e2e/streaming and test/e2e/breakout-rooms drive them.
 */
const REACHED_ELSEWHERE = new Set([
  'POST /api/v1/admin/rooms/{room}/streaming',
  'DELETE /api/v1/admin/rooms/{room}/streaming',
  'GET /api/v1/admin/rooms/{room}/breakouts',
  'POST /api/v1/admin/rooms/{room}/breakouts',
  'DELETE /api/v1/admin/rooms/{room}/breakouts',
]);

/** The document's operations; the admin API takes administrators' tokens only. */
function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).flatMap(([method, operation]): Operation[] => {
      if (UNFUZZED.has(`${method.toUpperCase()} ${path}`)) return [];
      const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
      const users: Caller[] = path.startsWith('/api/v1/admin/') ? ['admin'] : ['user', 'admin'];
      const allowed: Caller[] = [
        ...(schemes.includes('bearer') ? users : []),
        ...(schemes.includes('apiKey') ? ['apiKey' as const] : []),
      ];
      return [
        {
          method: method.toUpperCase(),
          path,
          params: (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
          body: operation.requestBody?.content['application/json']?.schema,
          allowed,
        },
      ];
    }),
  );
}

interface Answer {
  status: number;
  text: string;
  type: string;
}

/**
 * Throws unless the answer is one the door may give: below 500; a 4xx in JSON with its
 * statusCode and a message; a 2xx only to a caller the document allows.
 */
function checkAnswer({ operation, caller }: FuzzRequest, { status, text, type }: Answer) {
  const where = `${operation.method} ${operation.path} as ${caller}: ${status} ${text.slice(0, 300)}`;
  if (status >= 500) throw new Error(`server error: ${where}`);
  if (status >= 400) {
    let parsed: { statusCode?: unknown; message?: unknown } | undefined;
    try {
      parsed = type.startsWith('application/json') ? JSON.parse(text) : undefined;
    } catch {
      // Reported below.
    }
    if (!parsed) throw new Error(`not JSON: ${where}`);
    const { statusCode, message } = parsed;
    const messages = Array.isArray(message) ? message : [message];
    const named = messages.length > 0 && messages.every((m) => typeof m === 'string' && m);
    if (statusCode !== status || !named) throw new Error(`4xx without a message: ${where}`);
  } else if (status < 300 && operation.allowed.length && !operation.allowed.includes(caller)) {
    throw new Error(`answered a caller the document does not allow: ${where}`);
  }
}

describe('REST door fuzzing', () => {
  let shard: ShardProcess;
  let canary: CanaryCall;
  let target: NodeParticipant;
  let baseline: ObjectCounts;
  let document: OpenApiDocument;
  const authorization: Partial<Record<Caller, string>> = {};
  let targetToken: string;

  /**
   * A participant in the target room, for the admin API's room handlers to act on: back
   * after every kick or end (as a moderator, so that a lock does not keep it out).
   */
  const joinTarget = async () => {
    target?.close();
    target = await NodeParticipant.connect(shard.url, { token: targetToken });
    const { participantId } = await target.join(TARGET_ROOM, 'Target');
    pools.participantId.splice(0, Infinity, participantId);
  };

  const api = async (method: string, path: string, body?: unknown, auth?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth) headers.authorization = auth;
    const response = await fetch(`${shard.url}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };

  beforeAll(async () => {
    seedRecording();
    shard = await startShardProcess({
      env: {
        JWT_SECRET,
        RECORDINGS_DIR: recordingsDir,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        // Fuzzed logins, registrations and token requests must reach the handlers rather
        // than a 429 or a locked account (portal-rate-limits tests the shipped limits).
        LOGIN_RATE_LIMIT_PER_MINUTE: '10000000',
        REGISTRATION_RATE_LIMIT_PER_MINUTE: '10000000',
        TOKEN_RATE_LIMIT_PER_MINUTE: '10000000',
        LOGIN_MAX_FAILURES: '10000000',
        // A large run outlasts the default 15 minutes of the callers' access tokens.
        ACCESS_TOKEN_TTL_SECONDS: '86400',
      },
    });
    document = (await (await fetch(`${shard.url}/api/docs-json`)).json()) as OpenApiDocument;
    canary = await CanaryCall.start(shard.url, CANARY_ROOM);
    baseline = await objectCounts(shard);

    await api('POST', '/auth/register', USER);
    const user = await api('POST', '/auth/login', { email: USER.email, password: USER.password });
    const admin = await api('POST', '/auth/login', ADMIN);
    authorization.user = `Bearer ${user.accessToken}`;
    authorization.admin = `Bearer ${admin.accessToken}`;
    const key = await api('POST', '/admin/api-keys', { name: 'fuzzing' }, authorization.admin);
    authorization.apiKey = apiKeyAuthorization(key.keyId, key.secret);
    authorization.unknownAccount = `Bearer ${new JwtService({ secret: JWT_SECRET }).sign(
      { sub: randomUUID(), role: 'admin' },
      { issuer: JWT_ISSUER, audience: 'video-window-portal', expiresIn: 86400 },
    )}`;
    pools.refreshToken.push(user.refreshToken, admin.refreshToken);
    const victim = await api('POST', '/admin/api-keys', { name: 'to revoke' }, authorization.admin);
    pools.keyId.push(victim.keyId);
    for (const caller of ['user', 'admin'] as const) {
      const meeting = await api('POST', '/meetings', { title: caller }, authorization[caller]);
      pools.meetingId.push(meeting.id);
    }
    const grant = { room: TARGET_ROOM, identity: 'target', name: 'Target', role: 'moderator' };
    targetToken = (await api('POST', '/admin/join-tokens', grant, authorization.admin)).token;
    await joinTarget();
  }, 60_000);

  afterAll(async () => {
    target?.close();
    canary?.close();
    await shard?.stop();
    rmSync(recordingsDir, { recursive: true, force: true });
  });

  /** What the fuzzing learns from a 2xx: new meetings, keys and refresh tokens (and it puts back what it ended). */
  const learn = async ({ operation: { method, path } }: FuzzRequest, { text, type }: Answer) => {
    if (path.endsWith('/kick') || (method === 'DELETE' && path === '/api/v1/admin/rooms/{room}'))
      await joinTarget();
    if (method === 'DELETE' && path === '/api/v1/admin/recordings/{id}') seedRecording();
    if (!type.startsWith('application/json') || !text) return;
    const answer = JSON.parse(text) as Record<string, unknown>;
    if (typeof answer.refreshToken === 'string') pools.refreshToken.push(answer.refreshToken);
    if (method === 'POST' && path === '/api/v1/meetings') pools.meetingId.push(String(answer.id));
    if (method === 'POST' && path === '/api/v1/admin/api-keys')
      pools.keyId.push(String(answer.keyId));
  };

  const send = async (request: FuzzRequest): Promise<Answer> => {
    const { operation, caller, body } = request;
    let path = operation.path;
    operation.params.forEach((name, index) => {
      const value = request.params[index];
      const segment = value instanceof Known ? encodeURIComponent(resolve(value) as string) : value;
      path = path.replace(`{${name}}`, segment);
    });
    const headers: Record<string, string> = {};
    const auth = caller === 'garbage' ? request.garbage : authorization[caller];
    if (auth) headers.authorization = auth;
    let payload: Blob | undefined;
    if (body) {
      const value =
        body.value !== null && typeof body.value === 'object' && !Array.isArray(body.value)
          ? Object.entries(body.value).reduce(
              (object, [key, field]) => withField(object, key, resolve(field)),
              {},
            )
          : resolve(body.value);
      payload = new Blob([body.text ?? JSON.stringify(value) ?? '']);
      if (body.contentType) headers['content-type'] = body.contentType;
    }
    const response = await fetch(`${shard.url}${path}${request.query}`, {
      method: operation.method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    return { status: response.status, text, type: response.headers.get('content-type') ?? '' };
  };

  it(
    'answers every request below 500, 4xx with a JSON message, 2xx to allowed callers only',
    async () => {
      const operations = operationsOf(document);
      expect(operations.length).toBeGreaterThan(20);
      const progress = new FuzzProgress('rest');
      /** Per operation: how often each status answered it. */
      const statuses = new Map<string, Map<number, number>>();

      await fc.assert(
        fc.asyncProperty(requestOf(operations, document), async (request) => {
          const answer = await send(request);
          progress.tick();
          const operation = `${request.operation.method} ${request.operation.path}`;
          const counts = statuses.get(operation) ?? new Map<number, number>();
          statuses.set(operation, counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1));
          checkAnswer(request, answer);
          if (answer.status < 300) await learn(request, answer);
        }),
        fuzzParameters(2000),
      );
      progress.done();
      if (process.env.FUZZ_PROGRESS) {
        for (const [operation, counts] of statuses)
          process.stderr.write(
            `[fuzz] rest: ${operation} ${JSON.stringify(Object.fromEntries(counts))}\n`,
          );
      }

      // Every operation reached its handler, and no rate limit answered instead.
      const reached = (counts: Map<number, number>) => [...counts.keys()].some((s) => s < 300);
      const unreached = operations
        .map(({ method, path }) => `${method} ${path}`)
        .filter((operation) => !REACHED_ELSEWHERE.has(operation))
        .filter((operation) => !reached(statuses.get(operation) ?? new Map()));
      expect(unreached).toEqual([]);
      const limited = [...statuses].filter(([, counts]) => counts.has(429));
      expect(limited).toEqual([]);

      expect(shard.exited()).toBeUndefined();
      await canary.assertHealthy();
      target.close();
      expect(await backToBaseline(shard, baseline)).toEqual(baseline);
    },
    fuzzTimeout(90_000),
  );
});
