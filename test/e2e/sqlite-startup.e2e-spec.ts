/**
 * A SQLite database the shard may not write (a bind-mounted folder owned by another
 * user, a read-only file) stops the start at once with a message naming the path and
 * the process's uid, instead of half a minute of "unable to open database file".
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startShardProcess } from '../support/shard-process';

// Root may write anywhere: a root test runner starts the shard as root without the
// capabilities that override file permissions (another user might not even read the
// checkout, as in a fresh clone under a private temporary folder).
const WITHOUT_FILE_OVERRIDE = ['-dac_override', '-dac_read_search'].join(',');
const runAs =
  process.getuid!() === 0
    ? {
        runUnder: [
          'setpriv',
          `--bounding-set=${WITHOUT_FILE_OVERRIDE}`,
          `--inh-caps=${WITHOUT_FILE_OVERRIDE}`,
          '--',
        ],
      }
    : {};
const shardUid = process.getuid!();

describe('start-up with an unwritable SQLite database', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'video-window-sqlite-'));
    chmodSync(dir, 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** How the start ended: it must exit, well within the 27 s TypeORM used to retry. */
  async function failedStart(sqlitePath: string): Promise<string> {
    const started = startShardProcess({
      env: { DATABASE_SQLITE_PATH: sqlitePath },
      timeoutMs: 10_000,
      ...runAs,
    });
    const error: Error = await started.then(
      async (shard) => {
        await shard.stop();
        throw new Error('the shard started');
      },
      (reason: Error) => reason,
    );
    expect(error.message).toMatch(/^the shard exited \(1\)/);
    expect(error.message).not.toContain('Retrying');
    return error.message;
  }

  it('names the path and the uid when the directory is not writable', async () => {
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o555 });
    const message = await failedStart(join(data, 'portal.sqlite'));
    expect(message).toContain(`cannot use the SQLite database ${data}/portal.sqlite`);
    expect(message).toContain(`as uid ${shardUid}`);
    expect(message).toContain(`access '${data}'`);
  });

  it('names the directory it could not create', async () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o555 });
    const message = await failedStart(join(locked, 'data', 'portal.sqlite'));
    expect(message).toContain(`as uid ${shardUid}`);
    expect(message).toContain(`mkdir '${locked}/data'`);
  });

  it('names the file when the database file itself is read-only', async () => {
    chmodSync(dir, 0o777);
    const file = join(dir, 'portal.sqlite');
    writeFileSync(file, '', { mode: 0o444 });
    const message = await failedStart(file);
    expect(message).toContain(`as uid ${shardUid}`);
    expect(message).toContain(`access '${file}'`);
  });
});
