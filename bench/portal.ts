/**
 * portal: HTTP load on one in-process shard with autocannon (its load generator in a
 * worker thread). Measures requests per second and latency of an authenticated GET
 * (GET /api/v1/me), of minting join tokens with an API key (POST
 * /api/v1/admin/join-tokens) and of logging in (POST /api/v1/auth/login, scrypt-bound).
 * The rate limits are raised for the run so that every request is served.
 */
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { apiKeyAuthorization, portalApi } from '../test/support/portal-api';
import { startShard } from '../test/support/shard';
import type { Bench, Row } from './run';

const ADMIN = { email: 'bench-admin@example.org', password: 'bench-admin-password' };
const UNLIMITED = String(10_000_000);

export const portal: Bench = {
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        duration: { type: 'string', default: '10' },
        connections: { type: 'string', default: '50' },
        'login-connections': { type: 'string', default: '4' },
        tiny: { type: 'boolean' },
      },
    });
    const duration = values.tiny ? 1 : Number(values.duration);
    const connections = values.tiny ? 2 : Number(values.connections);
    const loginConnections = values.tiny ? 1 : Number(values['login-connections']);
    for (const [name, value] of Object.entries({ duration, connections, loginConnections })) {
      if (!Number.isInteger(value) || value < 1)
        throw new Error(`--${name} takes a positive integer`);
    }
    const shard = await startShard({
      LOG_LEVEL: 'error',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOGIN_RATE_LIMIT_PER_MINUTE: UNLIMITED,
      TOKEN_RATE_LIMIT_PER_MINUTE: UNLIMITED,
    });
    try {
      const http = portalApi(() => shard);
      const { accessToken } = (await http.login(ADMIN)).body;
      const key = (await http.call('POST', '/admin/api-keys', { name: 'bench' }, accessToken)).body;
      const json = { 'content-type': 'application/json' };
      const scenarios: { name: string; connections: number; options: autocannon.Options }[] = [
        {
          name: 'GET /api/v1/me (bearer)',
          connections,
          options: {
            url: `${shard.baseUrl}/api/v1/me`,
            headers: { authorization: `Bearer ${accessToken}` },
          },
        },
        {
          name: 'POST /api/v1/admin/join-tokens (API key)',
          connections,
          options: {
            url: `${shard.baseUrl}/api/v1/admin/join-tokens`,
            method: 'POST',
            headers: {
              ...json,
              authorization: apiKeyAuthorization(key.keyId, key.secret),
            },
            body: JSON.stringify({ room: 'bench', identity: 'u', name: 'U', role: 'participant' }),
          },
        },
        {
          name: 'POST /api/v1/auth/login',
          connections: loginConnections,
          options: {
            url: `${shard.baseUrl}/api/v1/auth/login`,
            method: 'POST',
            headers: json,
            body: JSON.stringify(ADMIN),
          },
        },
      ];
      const rows: Row[] = [];
      for (const scenario of scenarios) {
        progress(`${scenario.name}: ${scenario.connections} connections for ${duration} s`);
        const result = await autocannon({
          ...scenario.options,
          connections: scenario.connections,
          duration,
          workers: 1,
        });
        rows.push({
          request: scenario.name,
          connections: scenario.connections,
          requests: result.requests.total,
          'req/s': Math.round(result.requests.total / result.duration),
          'p50 ms': result.latency.p50,
          'p99 ms': result.latency.p99,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
        });
      }
      progress('done');
      return rows;
    } finally {
      await shard.close();
    }
  },
};
