/**
 * The container's HEALTHCHECK (`node dist/observability/health-probe.js`): exits 0 when
 * this shard's /health/ready answers 200, else 1. It reads the shard's own configuration,
 * so it asks the port and address the shard listens on (PORT, HOST, config/*.yaml).
 */
import { loadConfig } from '../config/load-config';

const WILDCARD_HOSTS = ['0.0.0.0', '::'];

const { host, port } = loadConfig().http;
const address = WILDCARD_HOSTS.includes(host) ? '127.0.0.1' : host;
const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/health/ready`;

fetch(url, { signal: AbortSignal.timeout(2_500) }).then(
  (response) => {
    console.log(`${url}: ${response.status}`);
    process.exit(response.ok ? 0 : 1);
  },
  (error: Error) => {
    console.error(`${url}: ${(error.cause as Error | undefined)?.message ?? error.message}`);
    process.exit(1);
  },
);
