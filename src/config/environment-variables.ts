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
  EMPTY_ROOM_GRACE_MS: 'conference.emptyRoomGraceMs',
  MAX_PARTICIPANTS_PER_ROOM: 'conference.maxParticipantsPerRoom',
  SIGNALING_MAX_MESSAGE_BYTES: 'signaling.maxMessageBytes',
  SIGNALING_REQUESTS_PER_SECOND: 'signaling.requestsPerSecond',
  SIGNALING_REQUEST_BURST: 'signaling.requestBurst',
  MEDIASOUP_NUM_WORKERS: 'media.numWorkers',
  MEDIASOUP_WORKER_LOG_LEVEL: 'media.workerLogLevel',
  RTC_MIN_PORT: 'media.rtcMinPort',
  RTC_MAX_PORT: 'media.rtcMaxPort',
  MEDIA_LISTEN_IP: 'media.listenIp',
  MEDIA_ANNOUNCED_ADDRESS: 'media.announcedAddress',
  ICE_SERVERS: 'ice.servers',
  TURN_MODE: 'turn.mode',
  TURN_SECRET: 'turn.secret',
  TURN_URLS: 'turn.urls',
  TURN_CREDENTIAL_TTL_SECONDS: 'turn.credentialTtlSeconds',
} as const;
