import { join } from 'node:path';
import { DEVELOPMENT_JWT_SECRET } from '../../src/config/config.schema';
import { ConfigError, loadConfig } from '../../src/config/load-config';

const configDir = join(__dirname, '..', '..', 'config');
const load = (env: Record<string, string>) => loadConfig(env, configDir);

describe('loadConfig', () => {
  it('gives the embedded defaults with no environment', () => {
    const config = load({});
    expect(config.mode).toBe('development');
    expect(config.http.port).toBe(8080);
    expect(config.auth.allowGuests).toBe(true);
    expect(config.auth.jwtSecret).toBe(DEVELOPMENT_JWT_SECRET);
  });

  it('applies config/<mode>.yaml and then the environment', () => {
    const config = load({ NODE_ENV: 'test', PORT: '9000', ALLOW_GUESTS: 'false' });
    expect(config.media.numWorkers).toBe(1); // from test.yaml
    expect(config.http.port).toBe(9000);
    expect(config.auth.allowGuests).toBe(false);
  });

  it('reads ICE servers as JSON', () => {
    const servers = [{ urls: 'stun:stun.example.org:3478' }];
    expect(load({ ICE_SERVERS: JSON.stringify(servers) }).ice.servers).toEqual(servers);
    expect(() => load({ ICE_SERVERS: '[oops' })).toThrow(/ICE_SERVERS: expected a JSON array/);
  });

  it('runs the embedded TURN server by default and checks its settings', () => {
    const turn = load({}).turn;
    expect(turn).toMatchObject({ mode: 'embedded', port: 3478, secret: '', allowedPeerRanges: [] });
    expect(turn.defaultLifetimeSeconds).toBe(600);
    expect(load({ TURN_ALLOWED_PEER_RANGES: '127.0.0.1/32, ::1' }).turn.allowedPeerRanges).toEqual([
      '127.0.0.1/32',
      '::1',
    ]);
    expect(() => load({ TURN_ALLOWED_PEER_RANGES: '10.0.0.0/33' })).toThrow(
      /turn.allowedPeerRanges.0: must be an address or CIDR range/,
    );
    expect(() => load({ TURN_TLS_CERT_FILE: '/tmp/cert.pem' })).toThrow(
      /set both TURN_TLS_CERT_FILE and TURN_TLS_KEY_FILE/,
    );
    expect(() => load({ TURN_SECRET: 'short' })).toThrow(/turn.secret: must be empty/);
    expect(() =>
      load({ TURN_DEFAULT_LIFETIME_SECONDS: '900', TURN_MAX_LIFETIME_SECONDS: '600' }),
    ).toThrow(/turn.defaultLifetimeSeconds: must not be greater/);
  });

  it('names every invalid setting', () => {
    expect(() => load({ PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    expect(() => load({ PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(
      /http\.port[\s\S]*log\.level/,
    );
    expect(() => load({ RTC_MIN_PORT: '50000', RTC_MAX_PORT: '40000' })).toThrow(
      /media\.rtcMinPort: must not be greater/,
    );
  });

  it('refuses development or short secrets in production mode', () => {
    expect(() => load({ NODE_ENV: 'production' })).toThrow(/refuses the development secret/);
    expect(() => load({ NODE_ENV: 'production', JWT_SECRET: 'short' })).toThrow(
      /at least 32 characters/,
    );
    const config = load({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) });
    expect(config.auth.allowGuests).toBe(false); // from production.yaml
  });

  it('reads the portal database and account settings', () => {
    const embedded = load({});
    expect(embedded.database).toEqual({ url: '', sqlitePath: './data/video-window.sqlite' });
    expect(embedded.portal.registrationEnabled).toBe(true);
    const config = load({
      DATABASE_URL: 'postgres://portal@db.example.org:5432/portal',
      REGISTRATION_ENABLED: 'false',
      ADMIN_EMAIL: 'admin@example.org',
      ADMIN_PASSWORD: 'long-enough',
      LOGIN_MAX_FAILURES: '3',
    });
    expect(config.database.url).toBe('postgres://portal@db.example.org:5432/portal');
    expect(config.portal).toMatchObject({
      registrationEnabled: false,
      adminEmail: 'admin@example.org',
      loginMaxFailures: 3,
    });
  });

  it('refuses a non-PostgreSQL database URL and half an administrator', () => {
    expect(() => load({ DATABASE_URL: 'mysql://db/portal' })).toThrow(/database\.url/);
    expect(() => load({ ADMIN_EMAIL: 'admin@example.org' })).toThrow(
      /portal\.adminPassword: set both ADMIN_EMAIL and ADMIN_PASSWORD/,
    );
    expect(() => load({ ADMIN_EMAIL: 'admin', ADMIN_PASSWORD: 'long-enough' })).toThrow(
      /portal\.adminEmail/,
    );
  });

  it('keeps recordings local by default, and reads and checks an S3 bucket', () => {
    expect(load({}).recording.s3).toEqual({
      bucket: '',
      endpoint: '',
      region: '',
      prefix: '',
      forcePathStyle: false,
      accessKeyId: '',
      secretAccessKey: '',
    });
    expect(
      load({
        RECORDINGS_S3_BUCKET: 'meetings.example',
        RECORDINGS_S3_ENDPOINT: 'http://127.0.0.1:9000',
        RECORDINGS_S3_REGION: 'eu-west-1',
        RECORDINGS_S3_PREFIX: 'video-window/recordings/',
        RECORDINGS_S3_FORCE_PATH_STYLE: 'true',
        RECORDINGS_S3_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        RECORDINGS_S3_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      }).recording.s3,
    ).toMatchObject({ bucket: 'meetings.example', forcePathStyle: true, region: 'eu-west-1' });
    expect(() => load({ RECORDINGS_S3_BUCKET: 'Not_A_Bucket' })).toThrow(/recording\.s3\.bucket/);
    expect(() => load({ RECORDINGS_S3_ENDPOINT: 'ftp://storage' })).toThrow(
      /recording\.s3\.endpoint/,
    );
    expect(() => load({ RECORDINGS_S3_PREFIX: '/absolute' })).toThrow(/recording\.s3\.prefix/);
    expect(() => load({ RECORDINGS_S3_ACCESS_KEY_ID: 'AKIDEXAMPLE' })).toThrow(
      /set both RECORDINGS_S3_ACCESS_KEY_ID and RECORDINGS_S3_SECRET_ACCESS_KEY/,
    );
  });
});
