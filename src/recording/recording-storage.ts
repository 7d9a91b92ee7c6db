import { Inject, Injectable } from '@nestjs/common';
import { mkdir, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { DomainError } from '../conference/domain-error';
import { RecordingInfo } from './recording-info';

const MANIFEST = 'recording.json';
const RECORDING_ID = /^[A-Za-z0-9-]{1,100}$/;

/**
 * The recordings directory: one folder per recording, named by its id, holding its
 * files and recording.json. The manifest is the only index (nothing in the database),
 * so a folder copied elsewhere keeps its description.
 */
@Injectable()
export class RecordingStorage {
  readonly directory: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.directory = resolve(config.recording.directory);
  }

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

  async get(id: string): Promise<RecordingInfo> {
    const text = await readFile(join(this.folderOf(id), MANIFEST), 'utf8').catch(() => {
      throw new DomainError('not_found', `no recording ${id}`);
    });
    return JSON.parse(text) as RecordingInfo;
  }

  /** Every recording, newest first (folders without a readable manifest are left out). */
  async list(): Promise<RecordingInfo[]> {
    const names = await readdir(this.directory).catch(() => [] as string[]);
    const all = await Promise.all(names.map((name) => this.get(name).catch(() => undefined)));
    return all
      .filter((info) => info !== undefined)
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /** The path of one of the recording's files, or not_found. */
  async fileOf(id: string, file: string): Promise<string> {
    const info = await this.get(id);
    if (!info.tracks.some((track) => track.file === file)) {
      throw new DomainError('not_found', `recording ${id} has no file ${file}`);
    }
    return join(this.folderOf(id), file);
  }

  async sizeOf(id: string, file: string): Promise<number | undefined> {
    return (await stat(join(this.folderOf(id), file)).catch(() => undefined))?.size;
  }

  async removeFile(id: string, file: string): Promise<void> {
    await rm(join(this.folderOf(id), file), { force: true });
  }

  async remove(id: string): Promise<void> {
    await rm(this.folderOf(id), { recursive: true, force: true });
  }

  /** Bytes free for an unprivileged user in the directory's file system. */
  async freeBytes(): Promise<number> {
    await mkdir(this.directory, { recursive: true });
    const fs = await statfs(this.directory);
    return fs.bavail * fs.bsize;
  }
}
