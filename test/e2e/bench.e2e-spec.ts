/**
 * The benches run to completion at their tiny sizes and write their reports; one without
 * its reference server says what to run; `all --quick` sums a subset up.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { workerBin } from 'mediasoup';
import { QUICK } from '../../bench/all';
import { COUNTED } from '../../bench/churn';
import { GOALS } from '../../bench/goals';
import { EXIT_MISSING_PREREQUISITE } from '../../bench/prerequisites';
import { BENCH_NAMES, BenchReport, runBench } from '../../bench/run';

const run = promisify(execFile);
const REPO_ROOT = join(__dirname, '..', '..');

/** What `npm run bench -- <args>` runs, with only `path` as PATH (too little for npm). */
function benchWithPath(path: string, args: string[]) {
  const runTs = ['--require', join(REPO_ROOT, 'bench/register-ts.js'), 'bench/run.ts'];
  return run(process.execPath, [...runTs, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, PATH: path },
    timeout: 120_000,
  });
}

/**
 * A PATH without coturn's commands, as on a machine where coturn is not installed: only
 * what scripts/apt-install.sh runs to find out (it finds coturn installed and ends, or
 * finds no apt-get to install it with).
 */
function pathWithoutCoturn(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-path-'));
  for (const command of ['bash', 'dpkg', 'dpkg-query', 'id']) {
    const found = execFileSync('bash', ['-c', `command -v ${command}`], { encoding: 'utf8' });
    symlinkSync(found.trim(), join(dir, command));
  }
  return dir;
}

const NO_COTURN =
  /turnutils_uclient, turnutils_peer, turnserver \(Debian package coturn\) not found on PATH(, and installing it failed)?: run "bash scripts\/apt-install.sh coturn"$/;

describe('npm run bench', () => {
  const resultsDir = mkdtempSync(join(tmpdir(), 'bench-results-'));
  afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

  async function runTiny(name: string, args: string[] = []) {
    const progress: string[] = [];
    const { file } = await runBench(name, ['--tiny', ...args], {
      resultsDir,
      progress: (message) => progress.push(message),
    });
    expect(file).toMatch(new RegExp(`${name}-.*\\.json$`));
    const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    expect(report.bench).toBe(name);
    expect(report.machine.cores).toBeGreaterThan(0);
    return { report, progress };
  }

  it('join-latency --tiny: latency rows for two light and two libwebrtc viewers', async () => {
    const { report, progress } = await runTiny('join-latency');
    const columns = {
      light: ['joined', 'connected', 'firstPacket'],
      wrtc: ['joined', 'firstPacket', 'firstFrame'],
    };
    expect(report.rows.map((row) => row.viewer)).toEqual(Object.keys(columns));
    for (const row of report.rows) {
      expect(row).toMatchObject({ participants: 2, rounds: 1, 'client processes': 1, failed: 0 });
      for (const column of columns[row.viewer as keyof typeof columns]) {
        for (const p of [50, 95, 99]) expect(row[`${column} p${p} ms`]).toBeGreaterThan(0);
      }
    }
    expect(progress).toContain('light N=2 round 1: done');
  });

  it('signaling-capacity --tiny, from the command line: memory and loop delay of 20 idle connections', async () => {
    // Its own process: the bench forces garbage collections, which wrtc objects left by
    // the other bench would not survive.
    const { stdout } = await run(
      'npm',
      ['run', '--silent', 'bench', '--', 'signaling-capacity', '--tiny'],
      {
        cwd: join(__dirname, '..', '..'),
      },
    );
    const file = /^results: (.+)$/m.exec(stdout)?.[1];
    expect(file).toBeDefined();
    const report = JSON.parse(readFileSync(file!, 'utf8')) as BenchReport;
    rmSync(file!);
    expect(report.bench).toBe('signaling-capacity');
    expect(report.rows).toHaveLength(1);
    const [row] = report.rows;
    expect(row).toMatchObject({ connections: 20, failed: 0 });
    for (const column of [
      'heap B/conn',
      'external B/conn',
      'rss MiB',
      'ramp delay p99 ms',
      'idle delay p99 ms',
    ]) {
      expect(typeof row[column]).toBe('number');
    }
    expect(row['rss MiB']).toBeGreaterThan(0);
  });

  it('portal --tiny: requests per second and latency of a GET, token minting and login', async () => {
    const { report, progress } = await runTiny('portal');
    expect(report.rows.map((row) => row.request)).toEqual([
      'GET /api/v1/me (bearer)',
      'POST /api/v1/admin/join-tokens (API key)',
      'POST /api/v1/auth/login',
    ]);
    for (const row of report.rows) {
      expect(row.requests).toBeGreaterThan(0);
      expect(row).toMatchObject({ non2xx: 0, errors: 0 });
      for (const column of ['req/s', 'p50 ms', 'p99 ms']) expect(typeof row[column]).toBe('number');
    }
    expect(progress).toContain('done');
  });

  it('turn --tiny: Video Window (native and JavaScript relay) and coturn relay the same messages, each measured', async () => {
    const { report, progress } = await runTiny('turn');
    expect(report.rows.map((row) => row.server)).toEqual([
      'Video Window',
      'Video Window, JavaScript relay',
      'coturn',
    ]);
    for (const row of report.rows) {
      expect(row).toMatchObject({ 'packets relayed': 80, 'loss %': 0 });
      expect(row['peak sockets']).toBeGreaterThan(0);
      expect(typeof row['server CPU s']).toBe('number');
    }
    expect(progress.some((line) => line.startsWith('packets per CPU-second'))).toBe(true);
  });

  it('xmpp --tiny: fan-out and join burst against Prosody and Video Window, with ratios', async () => {
    const { report, progress } = await runTiny('xmpp');
    const rows = report.rows;
    for (const server of ['prosody', 'videowindow']) {
      const fanout = rows.find((row) => row.server === server && row.scenario === 'fan-out 1→2');
      expect(fanout).toMatchObject({ delivered: 40, expected: 40 });
      expect(fanout!['delivered/s']).toBeGreaterThan(0);
      expect(fanout!['p99 ms']).toBeGreaterThan(0);
      const burst = rows.find((row) => row.server === server && row.scenario === 'join burst 5');
      expect(burst).toMatchObject({ delivered: 25, expected: 25 });
      expect(typeof burst!['all presences s']).toBe('number');
    }
    const ratios = rows.filter((row) => row.server === 'videowindow / prosody');
    expect(ratios.map((row) => row.scenario)).toEqual(['fan-out 1→2', 'join burst 5']);
    expect(progress).toContain('videowindow: join burst of 5');
  });

  it('sfu-fanout --tiny: every variant forwards every scenario, a reference worker too, with anchors and projections', async () => {
    // The reference is another build of the worker; a copy of this one stands in for it.
    const referenceWorker = join(resultsDir, 'reference-mediasoup-worker');
    copyFileSync(workerBin, referenceWorker);
    const { report } = await runTiny('sfu-fanout', ['--reference-worker', referenceWorker]);
    const measured = report.rows.filter((row) => row.variant !== undefined);
    expect(measured.map((row) => `${row.scenario}/${row.variant}`)).toEqual([
      'audio/bare',
      'audio/videowindow',
      'audio/reference',
      'video/bare',
      'video/videowindow',
      'video/reference',
      'simulcast/bare',
      'simulcast/videowindow',
      'simulcast/reference',
    ]);
    for (const row of measured) {
      // 2 publishers x 3 subscribers: 6 consumers per track.
      expect(row.consumers).toBe(row.scenario === 'audio' ? 6 : 12);
      expect(row['forwarded pps']).toBeGreaterThan(0);
      expect(row['input pps']).toBeGreaterThan(0);
      expect(row.srtp).toBe('AEAD_AES_256_GCM');
      for (const column of [
        'us/packet',
        'pps/core',
        'worker cpu',
        'loss',
        'ratio vs bare',
        'ratio vs reference',
      ]) {
        expect(typeof row[column]).toBe('number');
      }
    }
    expect(report.rows.filter((row) => row.reference !== undefined)).toHaveLength(3);
    // LiveKit's runs, projected from the packet rates LiveKit measured and from our model.
    const projections = report.rows.filter((row) => row.projection !== undefined);
    expect(projections.map((row) => [row['LiveKit pps out'], row['our model pps']])).toEqual([
      [762_749, 150 * 149 * 100],
      [560_962, 3000 * 100],
      [959_156, 10 * 3000 * 50],
    ]);
    expect(projections.map((row) => row['LiveKit cores used'])).toEqual([13.6, 14.7, 12.8]);
    const simulcast = measured.find(
      (row) => row.variant === 'videowindow' && row.scenario === 'simulcast',
    );
    expect(projections[0]['us/packet used']).toBe(simulcast!['us/packet']);
    for (const row of projections) {
      const cores = (pps: string) =>
        Number(((Number(row[pps]) * Number(row['us/packet used'])) / 1e6).toFixed(1));
      expect(row['cores at LiveKit pps']).toBe(cores('LiveKit pps out'));
      expect(row['cores at our model pps']).toBe(cores('our model pps'));
    }
  });

  it('join-burst --tiny: 10 participants in one room all see the full roster', async () => {
    const { report, progress } = await runTiny('join-burst');
    expect(report.rows).toHaveLength(1);
    const [row] = report.rows;
    expect(row).toMatchObject({ participants: 10, failed: 0 });
    // Unbatched, the 10 joins would be 45 announcements (join answers carry the rest).
    expect(row['announcement messages']).toBeLessThanOrEqual(45);
    for (const column of ['join answer p50 ms', 'full roster p50 ms', 'all rosters complete ms']) {
      expect(row[column]).toBeGreaterThanOrEqual(0);
    }
    expect(progress.some((m) => m.startsWith('all 10 rosters complete after'))).toBe(true);
  });

  it('cluster --tiny: placements, join latency through HAProxy and direct, XMPP messages within and across shards, a timed failover', async () => {
    const { report, progress } = await runTiny('cluster');
    expect(report.rows.map((row) => row.figure)).toEqual([
      'new rooms placed through HAProxy',
      'join (connect + join answered), through HAProxy',
      'join (connect + join answered), straight to the shard',
      'join latency ratio, HAProxy / direct (p50)',
      'XMPP 1:1 message (sent to received), same shard',
      'XMPP 1:1 message (sent to received), across shards',
      'XMPP message latency ratio, across / same shard (p50)',
      'failover: kill -9 of the room’s shard to media again',
    ]);
    expect(report.rows[0].value).toMatch(/^\d+(\.\d+)? \/s$/);
    expect(Number(report.rows[3].value)).toBeGreaterThan(0);
    for (const row of report.rows.slice(4, 6)) {
      expect(row.value).toMatch(/^p50 \d+\.\d\d ms$/);
      expect(row.detail).toMatch(/^p99 \d+\.\d\d ms over 20$/);
    }
    expect(Number(report.rows[6].value)).toBeGreaterThan(0);
    expect(progress.some((m) => /^kill 1\/1 of shard\d: media back after \d+ ms$/.test(m))).toBe(
      true,
    );
  });

  it('jitsi-join --tiny: a web client and a Jitsi Meet client each reach a first frame, with the ratio and shard CPU', async () => {
    const { report, progress } = await runTiny('jitsi-join');
    const [web, jitsi] = report.rows;
    expect([web.client, jitsi.client]).toEqual(['web', 'jitsi']);
    for (const row of [web, jitsi]) {
      expect(row.joins).toBe(1);
      expect(row['first frame p50 ms']).toBeGreaterThan(0);
      expect(row['shard CPU ms/join']).toBeGreaterThan(0);
    }
    expect(web['ratio to web (p50)']).toBe(1);
    expect(jitsi['ratio to web (p50)']).toBeGreaterThan(0);
    expect(progress).toContainEqual(
      expect.stringMatching(/^round 1\/1: web \d+ ms, Jitsi \d+ ms$/),
    );
  }, 180_000);

  it('recording --tiny: one room recorded, one live composite, with their CPU', async () => {
    const { report, progress } = await runTiny('recording');
    expect(report.rows).toHaveLength(2);
    const [row, composite] = report.rows;
    expect(row).toMatchObject({ scenario: 'per-track (audio + video)', rooms: 1, tracks: 2 });
    expect(row['ffmpeg CPU % per room']).toBeGreaterThan(0);
    expect(row['rooms per core']).toBeGreaterThan(0);
    expect(row['realtime min']).toBeGreaterThan(0);
    expect(progress).toContain('stopped; checking 2 files');
    expect(composite).toMatchObject({
      scenario: expect.stringMatching(/^live composite/),
      rooms: 1,
    });
    expect(composite['ffmpeg CPU % per room']).toBeGreaterThan(0);
    expect(composite['rooms per core']).toBeGreaterThan(0);
    expect(composite['realtime min']).toBeGreaterThanOrEqual(0);
  }, 120_000);

  it('cascade --tiny: one shard and three forward the same streams, three through pipes', async () => {
    const { report } = await runTiny('cascade');
    const [one, three, overhead] = report.rows;
    expect([one.variant, three.variant, overhead.variant]).toEqual([
      'one shard',
      'three shards',
      'pipe overhead',
    ]);
    // 10 viewers of 2 publishers' audio and video at 50 packets/s each: 2,000 pps.
    for (const row of [one, three]) {
      expect(Number(row['forwarded pps'])).toBeGreaterThan(1000);
      expect(Number(row['µs/packet'])).toBeGreaterThan(0);
    }
    expect(one['pipe pps']).toBe(0);
    // Each producer (4, and the latency probe) crosses to each other shard: ~500 pps.
    expect(Number(three['pipe pps'])).toBeGreaterThan(200);
    expect(typeof three['hop ms']).toBe('number');
    const [goal] = GOALS.filter((g) => g.bench === 'cascade');
    expect(goal.judge(report.rows).value).toMatch(/µs\/packet at 12/);
  });

  it('large-room --tiny: Chromium pages receive what they show, then everything, and the ratios', async () => {
    const { report } = await runTiny('large-room');
    const [reduced, everything, ratio] = report.rows;
    expect([reduced.variant, everything.variant, ratio.variant]).toEqual([
      'pagination + layers',
      'everything',
      'everything / pagination + layers',
    ]);
    // 4 participants: 2 pages and 2 publishers; each page decodes the three others.
    for (const row of [reduced, everything]) {
      expect(row).toMatchObject({ participants: 4, pages: 2, 'failed publishers': 0 });
      expect(Number(row['decoders per page'])).toBeGreaterThan(0);
      expect(Number(row['video kbit/s per page'])).toBeGreaterThan(0);
    }
    expect(Number(ratio['video kbit/s per page'])).toBeGreaterThan(0);
    const [goal] = GOALS.filter((g) => g.bench === 'large-room');
    expect(goal.judge(report.rows).value).toMatch(/^bitrate .*× .* decoders .* at 4$/);
  }, 300_000);

  it('churn --tiny, from the command line: every count returns to its baseline', async () => {
    // Its own process, like signaling-capacity: it forces garbage collections.
    const { stdout } = await run('npm', ['run', '--silent', 'bench', '--', 'churn', '--tiny'], {
      cwd: join(__dirname, '..', '..'),
    });
    const file = /^results: (.+)$/m.exec(stdout)?.[1];
    expect(file).toBeDefined();
    const report = JSON.parse(readFileSync(file!, 'utf8')) as BenchReport;
    rmSync(file!);
    expect(report.rows.map((row) => row.at)).toEqual(['baseline', 'checkpoint', 'delta']);
    const delta = report.rows[2];
    expect(delta).toMatchObject({ cycles: 2, joins: 4, failed: 0 });
    for (const count of [...COUNTED, 'worker routers', 'worker objects']) {
      expect(delta[count]).toBe(0);
    }
    for (const column of ['fds', 'heap MiB', 'rss MiB', 'worker rss MiB']) {
      expect(typeof delta[column]).toBe('number');
    }
  });

  it('turn without coturn on PATH, from the command line: one line saying what to run', async () => {
    const path = pathWithoutCoturn();
    try {
      const failure = await benchWithPath(path, ['turn', '--tiny']).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure?.code).toBe(EXIT_MISSING_PREREQUISITE);
      const lines = failure!.stderr.trimEnd().split('\n');
      expect(lines.at(-1)).toMatch(new RegExp(`^\\[turn\\] ${NO_COTURN.source}`));
      expect(failure!.stderr).not.toMatch(/ENOENT|^\s+at /m);
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });

  it('all --quick on a subset: each goal judged from its bench’s report; a bench without its reference server says so in its row', async () => {
    const path = pathWithoutCoturn();
    try {
      const { stdout } = await benchWithPath(path, [
        ...['all', '--quick', '--benches', 'join-burst,turn'],
      ]);
      const file = /^results: (.+)$/m.exec(stdout)?.[1];
      expect(file).toBeDefined();
      const summary = JSON.parse(readFileSync(file!, 'utf8')) as BenchReport;
      rmSync(file!);
      expect(summary.bench).toBe('all');
      const [burst, turn, ...rest] = summary.rows;
      expect(rest).toEqual([]);

      expect(burst).toMatchObject({
        bench: 'join-burst',
        goal: '≤ 2 s',
        source: 'issue 6, item 2e',
        command: 'npm run bench -- join-burst --participants 500',
      });
      const burstReport = JSON.parse(
        readFileSync(join(REPO_ROOT, String(burst.report)), 'utf8'),
      ) as BenchReport;
      rmSync(join(REPO_ROOT, String(burst.report)));
      const [measured] = burstReport.rows;
      expect(measured).toMatchObject({ participants: 500, failed: 0 });
      const ms = measured['all rosters complete ms'];
      expect(burst.value).toBe(`${ms} ms (0 failed)`);
      expect(burst.met).toBe(Number(ms) <= 2000 ? 'yes' : 'no');

      expect(turn).toMatchObject({ bench: 'turn', met: 'not run', report: '' });
      expect(turn.value).toMatch(new RegExp(`^not run: ${NO_COTURN.source}`));
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  }, 180_000);

  it('all knows every bench, each with its quick size and at least one goal', () => {
    expect(Object.keys(QUICK)).toEqual(BENCH_NAMES.filter((name) => name !== 'all'));
    for (const name of Object.keys(QUICK)) {
      expect(GOALS.filter((goal) => goal.bench === name).length).toBeGreaterThan(0);
    }
  });

  it('names the known benches when asked for an unknown one', async () => {
    await expect(runBench('no-such-bench', [], { resultsDir })).rejects.toThrow(/join-latency/);
  });
});
