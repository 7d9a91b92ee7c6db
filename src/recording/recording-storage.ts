import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { AppConfig } from '../config/config.schema';
import { DomainError } from '../conference/domain-error';
import { RecordingInfo } from './recording-info';

export const MANIFEST = 'recording.json';
const RECORDING_ID = /^[A-Za-z0-9-]{1,100}$/;

/** One file of a recording, to send to whoever downloads it. */
export interface RecordingFile {
  stream: Readable;
  sizeBytes?: number;
}

/** A recording's files, as listed in its manifest (the only files ever served). */
export function filesOf(info: RecordingInfo): string[] {
  return [
    ...info.tracks.map((track) => track.file),
    ...(info.composite ? [info.composite.file] : []),
  ];
}

/**
 * Where recordings are. Every recording is written to the recordings directory while it
 * runs: one folder per recording, named by its id, holding its files and recording.json.
 * The manifest is the only index (nothing in the database), so a folder copied elsewhere
 * keeps its description. Where finished recordings are kept is the implementation's:
 * that folder (LocalRecordingStorage) or an S3-compatible bucket (S3RecordingStorage).
 */
export abstract class RecordingStorage {
  readonly directory: string;

  constructor(config: AppConfig) {
    this.directory = resolve(config.recording.directory);
  }

  /** Where finished recordings are kept (`info.storage` of those archive() moved). */
  abstract readonly target: RecordingInfo['storage'];

  /**
   * Takes a finished recording's files from its folder to where finished recordings are
   * kept, and says in `info.storage` (and `info.storageProblem`) where they are now.
   * Never throws: files it could not move stay in the folder.
   */
  abstract archive(info: RecordingInfo): Promise<void>;

  /** Every recording (running and finished), newest first. */
  abstract list(): Promise<RecordingInfo[]>;

  /** One recording, or not_found. */
  abstract get(id: string): Promise<RecordingInfo>;

  /** One of the files its manifest lists, or not_found. */
  abstract download(id: string, file: string): Promise<RecordingFile>;

  /** Deletes the recording with its files, wherever they are. */
  abstract remove(id: string): Promise<void>;

  async create(info: RecordingInfo): Promise<string> {
    const folder = this.folderOf(info.id);
    await mkdir(folder, { recursive: true });
    await this.save(info);
    return folder;
  }

  folderOf(id: string): string {
    if (!RECORDING_ID.test(id)) throw new DomainError('not_found', `no recording ${id}`);
    return join(this.directory, id);
  }

  /** Written whole and renamed into place: a reader never sees half a manifest. */
  async save(info: RecordingInfo): Promise<void> {
    const file = join(this.folderOf(info.id), MANIFEST);
    await writeFile(`${file}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
    await rename(`${file}.tmp`, file);
  }

  async sizeOf(id: string, file: string): Promise<number | undefined> {
    return (await stat(join(this.folderOf(id), file)).catch(() => undefined))?.size;
  }

  async removeFile(id: string, file: string): Promise<void> {
    await rm(join(this.folderOf(id), file), { force: true });
  }

  /** Bytes free for an unprivileged user in the directory's file system. */
  async freeBytes(): Promise<number> {
    await mkdir(this.directory, { recursive: true });
    const fs = await statfs(this.directory);
    return fs.bavail * fs.bsize;
  }

  /** The recordings in the directory, newest first (folders without a readable manifest are left out). */
  async inDirectory(): Promise<RecordingInfo[]> {
    const names = await readdir(this.directory).catch(() => [] as string[]);
    const all = await Promise.all(
      names.map((name) => this.fromDirectory(name).catch(() => undefined)),
    );
    return all.filter((info) => info !== undefined).sort(newestFirst);
  }

  protected async fromDirectory(id: string): Promise<RecordingInfo> {
    const text = await readFile(join(this.folderOf(id), MANIFEST), 'utf8').catch(() => {
      throw new DomainError('not_found', `no recording ${id}`);
    });
    return JSON.parse(text) as RecordingInfo;
  }

  protected async downloadFromDirectory(id: string, file: string): Promise<RecordingFile> {
    const info = await this.fromDirectory(id);
    if (!filesOf(info).includes(file)) {
      throw new DomainError('not_found', `recording ${id} has no file ${file}`);
    }
    const path = join(this.folderOf(id), file);
    const sizeBytes = (await stat(path).catch(() => undefined))?.size;
    if (sizeBytes === undefined) {
      throw new DomainError('not_found', `recording ${id} has no file ${file}`);
    }
    return { stream: createReadStream(path), sizeBytes };
  }

  protected async removeFromDirectory(id: string): Promise<void> {
    await rm(this.folderOf(id), { recursive: true, force: true });
  }
}

export const newestFirst = (a: RecordingInfo, b: RecordingInfo) =>
  b.startedAt.localeCompare(a.startedAt);

/** Finished recordings stay in the recordings directory (the default). */
export class LocalRecordingStorage extends RecordingStorage {
  readonly target = 'local';

  async archive(): Promise<void> {}

  list(): Promise<RecordingInfo[]> {
    return this.inDirectory();
  }

  get(id: string): Promise<RecordingInfo> {
    return this.fromDirectory(id);
  }

  download(id: string, file: string): Promise<RecordingFile> {
    return this.downloadFromDirectory(id, file);
  }

  remove(id: string): Promise<void> {
    return this.removeFromDirectory(id);
  }
}
