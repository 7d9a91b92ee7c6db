/**
 * Environment variables that override configuration, each with the path it sets.
 * This table is the single source for both the loader and the README.
 */
export const ENVIRONMENT_VARIABLES = {
  NODE_ENV: 'mode',
  HOST: 'http.host',
  PORT: 'http.port',
  LOG_LEVEL: 'log.level',
  JWT_SECRET: 'auth.jwtSecret',
  JWT_ISSUER: 'auth.jwtIssuer',
  ALLOW_GUESTS: 'auth.allowGuests',
  TOKEN_TTL_SECONDS: 'auth.tokenTtlSeconds',
  DATABASE_URL: 'database.url',
  DATABASE_SQLITE_PATH: 'database.sqlitePath',
  REGISTRATION_ENABLED: 'portal.registrationEnabled',
  ADMIN_EMAIL: 'portal.adminEmail',
  ADMIN_PASSWORD: 'portal.adminPassword',
  ACCESS_TOKEN_TTL_SECONDS: 'portal.accessTokenTtlSeconds',
  REFRESH_TOKEN_TTL_SECONDS: 'portal.refreshTokenTtlSeconds',
  LOGIN_MAX_FAILURES: 'portal.loginMaxFailures',
  LOGIN_LOCKOUT_MINUTES: 'portal.loginLockoutMinutes',
  LOGIN_RATE_LIMIT_PER_MINUTE: 'portal.loginRateLimitPerMinute',
  EMPTY_ROOM_GRACE_MS: 'conference.emptyRoomGraceMs',
  MAX_PARTICIPANTS_PER_ROOM: 'conference.maxParticipantsPerRoom',
  SIGNALING_MAX_MESSAGE_BYTES: 'signaling.maxMessageBytes',
  MEDIASOUP_NUM_WORKERS: 'media.numWorkers',
  MEDIASOUP_WORKER_LOG_LEVEL: 'media.workerLogLevel',
  RTC_MIN_PORT: 'media.rtcMinPort',
  RTC_MAX_PORT: 'media.rtcMaxPort',
  MEDIA_LISTEN_IP: 'media.listenIp',
  MEDIA_ANNOUNCED_ADDRESS: 'media.announcedAddress',
  ICE_SERVERS: 'ice.servers',
} as const;
