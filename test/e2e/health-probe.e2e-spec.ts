/**
 * The container's HEALTHCHECK, dist/observability/health-probe.js, asks the shard on the
 * port its configuration names (not a fixed 8080) and trusts only a 200 from /health/ready.
 */
import { execFile } from 'node:child_process';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT, ShardProcess, startShardProcess } from '../support/shard-process';

const PROBE = join(REPO_ROOT, 'dist/observability/health-probe.js');

/** Runs the probe with these variables; resolves with its exit code and output. */
function probe(env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PROBE],
      { cwd: REPO_ROOT, env: { ...process.env, NODE_ENV: 'test', ...env }, timeout: 10_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

describe('health probe', () => {
  let shard: ShardProcess;
  let starting: Server;

  beforeAll(async () => {
    shard = await startShardProcess();
    // Something that answers like a shard still starting its workers.
    starting = createServer((_request, response) => response.writeHead(503).end());
    await new Promise<void>((resolve) => starting.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await shard?.stop();
    if (starting?.listening) starting.close();
  });

  it('is healthy for a ready shard on a port other than 8080', async () => {
    expect(shard.port).not.toBe(8080);
    const result = await probe({ PORT: String(shard.port) });
    expect(result).toEqual({
      code: 0,
      output: `http://127.0.0.1:${shard.port}/health/ready: 200\n`,
    });
  });

  it('asks the configured host', async () => {
    const result = await probe({ HOST: '127.0.0.2', PORT: String(shard.port) });
    expect(result).toEqual({
      code: 0,
      output: `http://127.0.0.2:${shard.port}/health/ready: 200\n`,
    });
  });

  it('is unhealthy when readiness is not 200', async () => {
    const { port } = starting.address() as AddressInfo;
    const result = await probe({ PORT: String(port) });
    expect(result).toEqual({ code: 1, output: `http://127.0.0.1:${port}/health/ready: 503\n` });
  });

  it('is unhealthy when nothing listens', async () => {
    const { port } = starting.address() as AddressInfo;
    await new Promise((resolve) => starting.close(resolve));
    const result = await probe({ PORT: String(port) });
    expect(result.code).toBe(1);
    expect(result.output).toContain('ECONNREFUSED');
  });
});
