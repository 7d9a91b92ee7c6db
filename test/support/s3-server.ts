/**
 * A real S3-compatible HTTP server on loopback (s3rver, objects kept in a temporary
 * folder), with an SDK client that reads what the shard put there.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/** s3rver's one account. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  /** What a shard needs to keep its recordings in the bucket, under `prefix`. */
  env(prefix?: string): Record<string, string>;
  /** Every key in the bucket (under `prefix`), sorted. */
  keys(prefix?: string): Promise<string[]>;
  /** Stops answering (the port is closed); the objects stay for start(). */
  stop(): Promise<void>;
  /** Answers again on the same port, with the same objects. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startS3Server(bucket = 'recordings'): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'vw-s3rver-'));
  let port = 0;
  let server: S3rver | undefined;
  const start = async () => {
    server = new S3rver({
      address: '127.0.0.1',
      port,
      silent: true,
      directory,
      configureBuckets: [{ name: bucket }],
    });
    port = (await server.run()).port;
  };
  const stop = async () => {
    await server?.close();
    server = undefined;
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: CREDENTIALS,
  });
  return {
    endpoint,
    bucket,
    env: (prefix = '') => ({
      RECORDINGS_S3_BUCKET: bucket,
      RECORDINGS_S3_ENDPOINT: endpoint,
      RECORDINGS_S3_FORCE_PATH_STYLE: 'true',
      RECORDINGS_S3_PREFIX: prefix,
      RECORDINGS_S3_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      RECORDINGS_S3_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    }),
    async keys(prefix = '') {
      const listed = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }),
      );
      return (listed.Contents ?? []).map((object) => object.Key!).sort();
    },
    stop,
    start,
    async close() {
      await stop();
      client.destroy();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
