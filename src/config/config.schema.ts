import { z } from 'zod';
import { isAddressRange } from '../turn/peer-address-policy';

export const DEVELOPMENT_JWT_SECRET = 'video-window-development-secret';

const port = z.coerce.number().int().min(1).max(65535);
/** 0 lets the operating system pick a free port. */
const listenPort = z.coerce.number().int().min(0).max(65535);

export const configSchema = z
  .object({
    mode: z.enum(['development', 'production', 'test']),
    http: z.object({
      host: z.string().min(1),
      port: listenPort,
      trustProxy: z.union([z.boolean(), z.string()]),
    }),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']) }),
    auth: z.object({
      jwtSecret: z.string().min(1),
      jwtIssuer: z.string().min(1),
      allowGuests: z.boolean(),
      tokenTtlSeconds: z.coerce.number().int().positive(),
    }),
    database: z.object({
      url: z.string(),
      sqlitePath: z.string().min(1),
    }),
    portal: z.object({
      registrationEnabled: z.boolean(),
      adminEmail: z.union([z.literal(''), z.email()]),
      adminPassword: z.union([z.literal(''), z.string().min(8)]),
      accessTokenTtlSeconds: z.coerce.number().int().positive(),
      refreshTokenTtlSeconds: z.coerce.number().int().positive(),
      loginMaxFailures: z.coerce.number().int().positive(),
      loginLockoutMinutes: z.coerce.number().positive(),
      loginRateLimitPerMinute: z.coerce.number().int().positive(),
      registrationRateLimitPerMinute: z.coerce.number().int().positive(),
      tokenRateLimitPerMinute: z.coerce.number().int().positive(),
    }),
    conference: z.object({
      emptyRoomGraceMs: z.coerce.number().int().min(0),
      resumeGraceMs: z.coerce.number().int().min(0),
      maxParticipantsPerRoom: z.coerce.number().int().positive(),
      maxChatLength: z.coerce.number().int().positive(),
      maxBreakoutRooms: z.coerce.number().int().positive(),
    }),
    signaling: z.object({
      maxMessageBytes: z.coerce.number().int().min(1024),
      requestsPerSecond: z.coerce.number().positive(),
      requestBurst: z.coerce.number().int().positive(),
    }),
    xmpp: z.object({
      domain: z.string().regex(/^[a-z0-9.-]+$/i, 'must be a DNS-style domain name'),
      maxStanzaBytes: z.coerce.number().int().min(4096),
      maxDepth: z.coerce.number().int().min(4).max(1000),
      stanzasPerSecond: z.coerce.number().positive(),
      stanzaBurst: z.coerce.number().int().positive(),
      resumeSeconds: z.coerce.number().int().min(0),
      maxOfflineMessages: z.coerce.number().int().min(0),
    }),
    media: z.object({
      numWorkers: z.coerce.number().int().min(0),
      workerLogLevel: z.enum(['debug', 'warn', 'error', 'none']),
      rtcMinPort: port,
      rtcMaxPort: port,
      listenIp: z.ipv4().or(z.ipv6()),
      announcedAddress: z.string(),
      initialAvailableOutgoingBitrate: z.coerce.number().int().positive(),
      maxIncomingBitrate: z.coerce.number().int().positive(),
      consumersPerRouter: z.coerce.number().int().positive(),
      maxVideosPerReceiver: z.coerce.number().int().positive(),
      lastN: z.coerce.number().int().min(0),
    }),
    turn: z.object({
      mode: z.enum(['off', 'embedded', 'external']),
      secret: z.string(),
      urls: z.array(z.string().regex(/^turns?:/, 'must be a turn: or turns: URL')),
      credentialTtlSeconds: z.coerce.number().int().positive(),
      realm: z.string().min(1),
      listenIp: z.ipv4(),
      port: listenPort,
      tlsPort: listenPort,
      tlsCertFile: z.string(),
      tlsKeyFile: z.string(),
      relayIp: z.ipv4(),
      publicAddress: z.string(),
      defaultLifetimeSeconds: z.coerce.number().int().positive(),
      maxLifetimeSeconds: z.coerce.number().int().positive(),
      nonceLifetimeSeconds: z.coerce.number().int().positive(),
      userQuota: z.coerce.number().int().positive(),
      totalQuota: z.coerce.number().int().positive(),
      maxAllocationKbps: z.coerce.number().int().min(0),
      udpRelay: z.enum(['native', 'node']),
      allowedPeerRanges: z.array(
        z.string().refine(isAddressRange, 'must be an address or CIDR range'),
      ),
    }),
    webhooks: z.object({
      urls: z.array(z.url({ protocol: /^https?$/ })),
      secret: z.string(),
      maxAttempts: z.coerce.number().int().positive(),
      retryBaseMs: z.coerce.number().int().positive(),
      timeoutMs: z.coerce.number().int().positive(),
    }),
    recording: z.object({
      directory: z.string().min(1),
      ffmpegPath: z.string().min(1),
      ffprobePath: z.string().min(1),
      maxConcurrent: z.coerce.number().int().min(0),
      retentionDays: z.coerce.number().min(0),
      minFreeMegabytes: z.coerce.number().int().min(0),
      diskCheckSeconds: z.coerce.number().positive(),
      composite: z.boolean(),
      maxConcurrentStreams: z.coerce.number().int().min(0),
      s3: z.object({
        bucket: z.union([
          z.literal(''),
          z
            .string()
            .regex(
              /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
              'must be an S3 bucket name: 3-63 lowercase letters, digits, "." and "-"',
            ),
        ]),
        endpoint: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
        region: z.string().regex(/^[a-z0-9-]{0,64}$/, 'must be a region name like eu-west-1'),
        prefix: z
          .string()
          .regex(/^(?!\/)[A-Za-z0-9!_.*'()/-]{0,200}$/, 'must be a key prefix like recordings/'),
        forcePathStyle: z.boolean(),
        accessKeyId: z.string(),
        secretAccessKey: z.string(),
      }),
    }),
    cluster: z.object({
      redisUrl: z.union([
        z.literal(''),
        z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
      ]),
      name: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "-", "."'),
      shardId: z.string().regex(/^[A-Za-z0-9_.-]{0,64}$/, 'must be letters, digits, "_", "-", "."'),
      region: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "-", "."'),
      internalUrl: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
      publicUrl: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
      heartbeatMs: z.coerce.number().int().min(100),
      shardTtlMs: z.coerce.number().int().min(300),
      drainTimeoutSeconds: z.coerce.number().int().min(0),
      agentPort: listenPort,
      span: z.object({
        enabled: z.boolean(),
        shardRoomSize: z.coerce.number().int().positive(),
        maxShardCpu: z.coerce.number().positive(),
        pipeListenIp: z.ipv4().or(z.ipv6()),
        pipeAddress: z.string(),
        stallCheckMs: z.coerce.number().int().min(200),
      }),
    }),
    ice: z.object({
      servers: z.array(
        z.object({
          urls: z.union([z.string(), z.array(z.string())]),
          username: z.string().optional(),
          credential: z.string().optional(),
        }),
      ),
    }),
  })
  .refine((c) => c.media.rtcMinPort <= c.media.rtcMaxPort, {
    message: 'must not be greater than media.rtcMaxPort',
    path: ['media', 'rtcMinPort'],
  })
  .refine((c) => c.database.url === '' || /^postgres(ql)?:\/\//.test(c.database.url), {
    message: 'must be a postgres:// URL (or empty for the embedded SQLite database)',
    path: ['database', 'url'],
  })
  .refine((c) => (c.portal.adminEmail === '') === (c.portal.adminPassword === ''), {
    message: 'set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither',
    path: ['portal', 'adminPassword'],
  })
  .refine((c) => c.mode !== 'production' || c.auth.jwtSecret !== DEVELOPMENT_JWT_SECRET, {
    message: 'production mode refuses the development secret: set JWT_SECRET',
    path: ['auth', 'jwtSecret'],
  })
  .refine(
    (c) => c.turn.mode !== 'external' || (c.turn.secret.length >= 16 && c.turn.urls.length > 0),
    {
      message: 'an external TURN server needs turn.secret (16+ characters) and turn.urls',
      path: ['turn'],
    },
  )
  .refine((c) => c.turn.secret === '' || c.turn.secret.length >= 16, {
    message: 'must be empty (a random secret per start) or 16+ characters',
    path: ['turn', 'secret'],
  })
  .refine((c) => (c.turn.tlsCertFile === '') === (c.turn.tlsKeyFile === ''), {
    message: 'set both TURN_TLS_CERT_FILE and TURN_TLS_KEY_FILE, or neither',
    path: ['turn', 'tlsKeyFile'],
  })
  .refine((c) => c.turn.defaultLifetimeSeconds <= c.turn.maxLifetimeSeconds, {
    message: 'must not be greater than turn.maxLifetimeSeconds',
    path: ['turn', 'defaultLifetimeSeconds'],
  })
  .refine((c) => c.webhooks.urls.length === 0 || c.webhooks.secret.length >= 16, {
    message: 'webhook URLs need a signing secret of 16+ characters: set WEBHOOK_SECRET',
    path: ['webhooks', 'secret'],
  })
  .refine((c) => (c.recording.s3.accessKeyId === '') === (c.recording.s3.secretAccessKey === ''), {
    message:
      'set both RECORDINGS_S3_ACCESS_KEY_ID and RECORDINGS_S3_SECRET_ACCESS_KEY, or neither (the AWS_* environment)',
    path: ['recording', 's3', 'secretAccessKey'],
  })
  .refine((c) => c.cluster.redisUrl === '' || c.database.url !== '', {
    message: 'the shards of a cluster share one PostgreSQL database: set DATABASE_URL',
    path: ['database', 'url'],
  })
  .refine((c) => c.cluster.heartbeatMs * 2 <= c.cluster.shardTtlMs, {
    message: 'must be at least twice cluster.heartbeatMs',
    path: ['cluster', 'shardTtlMs'],
  })
  .refine((c) => c.mode !== 'production' || c.auth.jwtSecret.length >= 32, {
    message: 'must be at least 32 characters in production mode',
    path: ['auth', 'jwtSecret'],
  });

export type AppConfig = z.infer<typeof configSchema>;
