import { HttpException, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { ClusterService } from '../cluster/cluster.service';
import { ShardEntry } from '../cluster/shard';
import { DomainError } from '../conference/domain-error';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { RecordingInfo } from '../recording/recording-info';
import { newestFirst } from '../recording/recording-storage';
import { RecordingService } from '../recording/recording.service';
import { FORWARDED_HEADER, ShardForwarder } from './shard-forwarding';

/** What a download passes on from the shard that has the file. */
const DOWNLOAD_HEADERS = ['content-type', 'content-length', 'content-disposition'];

/**
 * The recordings of every shard, from any shard: each shard lists its own (its recordings
 * directory, and the bucket when there is one), and a recording this shard does not have
 * is shown, downloaded and deleted by the shard that has it, asked with the caller's
 * credentials. A request forwarded here is answered from here alone.
 */
@Injectable()
export class AdminRecordingsService {
  constructor(
    private readonly recordings: RecordingService,
    private readonly cluster: ClusterService,
    private readonly forwarder: ShardForwarder,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  /** Newest first; a shard that does not answer in time is left out (and logged). */
  async list(request: Request): Promise<RecordingInfo[]> {
    const own = await this.recordings.list();
    if (request.headers[FORWARDED_HEADER]) return own;
    const lists = await Promise.all(
      this.others().map(async (shard) => {
        const { status, body } = await this.forwarder
          .call(shard, request, '/api/v1/admin/recordings')
          .catch(() => ({ status: 503, body: undefined }));
        if (status === 200) return body as RecordingInfo[];
        this.logger.warn({ shardId: shard.id, status }, 'a shard did not list its recordings');
        return [];
      }),
    );
    // Shards sharing a bucket each list its recordings: each is shown once.
    const byId = new Map<string, RecordingInfo>();
    for (const info of [own, ...lists].flat()) if (!byId.has(info.id)) byId.set(info.id, info);
    return [...byId.values()].sort(newestFirst);
  }

  async get(id: string, request: Request): Promise<RecordingInfo> {
    const found = await this.locate(id, request);
    return found ? found.info : this.recordings.get(id);
  }

  async download(id: string, file: string, request: Request, response: Response): Promise<void> {
    const found = await this.locate(id, request);
    if (!found) {
      const { stream, sizeBytes } = await this.recordings.download(id, file);
      response.attachment(file);
      if (sizeBytes !== undefined) response.setHeader('content-length', sizeBytes);
      await pipeline(stream, response);
      return;
    }
    const answer = await this.forwarder.open(found.shard, request);
    if (answer.status !== 200 || !answer.body) {
      const text = await answer.text();
      throw new HttpException(text ? (JSON.parse(text) as object) : {}, answer.status);
    }
    for (const name of DOWNLOAD_HEADERS) {
      const value = answer.headers.get(name);
      if (value !== null) response.setHeader(name, value);
    }
    await pipeline(Readable.fromWeb(answer.body as ReadableStream), response);
  }

  async remove(id: string, request: Request): Promise<void> {
    const found = await this.locate(id, request);
    if (!found) return this.recordings.remove(id);
    const { status, body } = await this.forwarder.call(found.shard, request);
    if (status >= 400) throw new HttpException(body ?? { statusCode: status }, status);
  }

  /**
   * The other shard that has the recording, and what it says of it; undefined when this
   * shard has it, when no shard has it (this one then says not_found), or when the
   * request was forwarded here.
   */
  private async locate(
    id: string,
    request: Request,
  ): Promise<{ shard: ShardEntry; info: RecordingInfo } | undefined> {
    if (request.headers[FORWARDED_HEADER]) return undefined;
    const here = await this.recordings.get(id).then(
      () => true,
      (error: unknown) => {
        if (error instanceof DomainError && error.code === 'not_found') return false;
        throw error;
      },
    );
    if (here) return undefined;
    const path = `/api/v1/admin/recordings/${encodeURIComponent(id)}`;
    const asked = { method: 'GET', originalUrl: path, headers: request.headers, body: undefined };
    const answers = await Promise.all(
      this.others().map((shard) =>
        this.forwarder.call(shard, asked).then(
          ({ status, body }) =>
            status === 200 ? { shard, info: body as RecordingInfo } : undefined,
          () => undefined,
        ),
      ),
    );
    return answers.find((answer) => answer !== undefined);
  }

  private others(): ShardEntry[] {
    return this.cluster.shards().filter((shard) => shard.id !== this.cluster.id);
  }
}
