import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { OnModuleInit } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AppConfig } from '../config/config.schema';
import { DomainError } from '../conference/domain-error';
import type { Logger } from '../observability/logger';
import { RecordingInfo } from './recording-info';
import {
  filesOf,
  MANIFEST,
  newestFirst,
  RecordingFile,
  RecordingStorage,
} from './recording-storage';

const CONNECT_TIMEOUT_MS = 5_000;
/** A request whose connection stays silent this long fails. */
const IDLE_TIMEOUT_MS = 30_000;
/** Manifests read from the bucket at once when listing. */
const MANIFEST_READS_AT_ONCE = 16;

/**
 * Finished recordings in an S3-compatible bucket, under `<prefix><id>/`: each file
 * uploaded (multipart beyond 5 MB), then recording.json, then the folder removed. What is
 * still in the recordings directory (running recordings, and finished ones whose upload
 * failed) is listed and served from there.
 */
export class S3RecordingStorage extends RecordingStorage implements OnModuleInit {
  readonly target = 's3';
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    config: AppConfig,
    private readonly logger: Logger,
  ) {
    super(config);
    const { bucket, endpoint, region, prefix, forcePathStyle, accessKeyId, secretAccessKey } =
      config.recording.s3;
    this.bucket = bucket;
    this.prefix = prefix;
    this.client = new S3Client({
      region: region || process.env.AWS_REGION || 'us-east-1',
      ...(endpoint && { endpoint }),
      forcePathStyle,
      ...(accessKeyId && { credentials: { accessKeyId, secretAccessKey } }),
      // A bucket that does not answer must not hold a recording's end for long.
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: IDLE_TIMEOUT_MS },
    });
  }

  /** A bucket that does not answer is logged, never fatal: recordings then stay local. */
  onModuleInit() {
    void this.client.send(new HeadBucketCommand({ Bucket: this.bucket })).then(
      () => this.logger.info({ bucket: this.bucket }, 'recordings go to the S3 bucket'),
      (error: unknown) =>
        this.logger.error(
          { bucket: this.bucket, problem: problemOf(error) },
          'the recordings bucket does not answer: recordings stay local until uploads succeed',
        ),
    );
  }

  async archive(info: RecordingInfo): Promise<void> {
    try {
      for (const file of filesOf(info)) {
        // A composite whose encoder never wrote is listed but absent (and absent in the bucket).
        if ((await this.sizeOf(info.id, file)) === undefined) continue;
        const body = createReadStream(join(this.folderOf(info.id), file));
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: this.keyOf(info.id, file), Body: body },
        });
        await upload.done().finally(() => body.destroy());
      }
      // The manifest last: a recording is listed from the bucket once all its files are there.
      const uploaded: RecordingInfo = { ...info, storage: 's3' };
      delete uploaded.storageProblem;
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(info.id, MANIFEST),
          Body: JSON.stringify(uploaded, null, 2),
          ContentType: 'application/json',
        }),
      );
      Object.assign(info, uploaded);
      delete info.storageProblem;
    } catch (error) {
      info.storage = 'local';
      info.storageProblem = `upload to bucket ${this.bucket} failed: ${problemOf(error)}`;
      this.logger.error(
        { recordingId: info.id, bucket: this.bucket, problem: info.storageProblem },
        'recording not uploaded: its files stay in the recordings directory',
      );
      await this.save(info).catch((saveError: unknown) =>
        this.logger.error({ err: saveError, recordingId: info.id }, 'recording.json not written'),
      );
      return;
    }
    await this.removeFromDirectory(info.id);
    this.logger.info({ recordingId: info.id, bucket: this.bucket }, 'recording uploaded');
  }

  async list(): Promise<RecordingInfo[]> {
    const here = await this.inDirectory();
    const inBucket = await this.fromBucket();
    const ids = new Set(here.map((info) => info.id));
    return [...here, ...inBucket.filter((info) => !ids.has(info.id))].sort(newestFirst);
  }

  async get(id: string): Promise<RecordingInfo> {
    return this.fromDirectory(id).catch(async () => {
      const body = await this.object(id, MANIFEST);
      return JSON.parse(await body.transformToString()) as RecordingInfo;
    });
  }

  async download(id: string, file: string): Promise<RecordingFile> {
    const local = await this.fromDirectory(id).catch(() => undefined);
    if (local) return this.downloadFromDirectory(id, file);
    if (!filesOf(await this.get(id)).includes(file)) {
      throw new DomainError('not_found', `recording ${id} has no file ${file}`);
    }
    const answer = await this.attempt(
      () =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(id, file) })),
      `recording ${id} has no file ${file}`,
    );
    return { stream: answer.Body as Readable, sizeBytes: answer.ContentLength };
  }

  /** The bucket's objects first: with the bucket down nothing is deleted (unavailable). */
  async remove(id: string): Promise<void> {
    const listed = await this.attempt(() =>
      this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyOf(id, '') }),
      ),
    );
    // The manifest last: a recording half deleted is still listed, and deleted again.
    const keys = (listed.Contents ?? [])
      .map((object) => object.Key!)
      .sort((a, b) => Number(a.endsWith(MANIFEST)) - Number(b.endsWith(MANIFEST)));
    for (const key of keys) {
      await this.attempt(() =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
      );
    }
    await this.removeFromDirectory(id);
  }

  private keyOf(id: string, file: string): string {
    return `${this.prefix}${id}/${file}`;
  }

  /** Every manifest in the bucket. */
  private async fromBucket(): Promise<RecordingInfo[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.attempt(() =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix,
            ContinuationToken: token,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        const id = object.Key!.slice(this.prefix.length).split('/')[0];
        if (object.Key === this.keyOf(id, MANIFEST)) keys.push(id);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const all: RecordingInfo[] = [];
    for (let i = 0; i < keys.length; i += MANIFEST_READS_AT_ONCE) {
      const read = keys.slice(i, i + MANIFEST_READS_AT_ONCE).map(async (id) => {
        const body = await this.object(id, MANIFEST).catch(() => undefined);
        return body && (JSON.parse(await body.transformToString()) as RecordingInfo);
      });
      for (const info of await Promise.all(read)) if (info) all.push(info);
    }
    return all;
  }

  private async object(id: string, file: string) {
    this.folderOf(id); // the id's shape
    const answer = await this.attempt(
      () =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(id, file) })),
      `no recording ${id}`,
    );
    return answer.Body!;
  }

  /** The bucket's answer; its 404 is not_found (saying `missing`), anything else unavailable. */
  private async attempt<T>(call: () => Promise<T>, missing = 'not in the bucket'): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) {
        throw new DomainError('not_found', missing);
      }
      throw new DomainError(
        'unavailable',
        `the recordings bucket does not answer: ${problemOf(error)}`,
      );
    }
  }
}

function problemOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // The SDK wraps network errors: "AWS SDK error wrapper for Error: connect ECONNREFUSED ...".
  const message = error.message.replace(/^AWS SDK error wrapper for (\w*Error: )?/, '');
  return error.name === 'Error' ? message : `${error.name}: ${message}`;
}
