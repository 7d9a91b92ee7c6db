/** The join-latency bench runs to completion at its tiny size and writes its report. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchReport, runBench } from '../../bench/run';

describe('npm run bench -- join-latency --tiny', () => {
  const resultsDir = mkdtempSync(join(tmpdir(), 'bench-results-'));
  afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

  it('writes a report with a latency row for every participant count', async () => {
    const progress: string[] = [];
    const { file } = await runBench('join-latency', ['--tiny'], {
      resultsDir,
      progress: (message) => progress.push(message),
    });

    expect(file).toMatch(/join-latency-.*\.json$/);
    const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    expect(report.bench).toBe('join-latency');
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.rows).toHaveLength(1);
    const [row] = report.rows;
    expect(row).toMatchObject({ participants: 2, failed: 0 });
    for (const column of ['joined', 'firstPacket', 'firstFrame']) {
      for (const p of [50, 95, 99]) expect(row[`${column} p${p} ms`]).toBeGreaterThan(0);
    }
    expect(progress).toContain('N=2: done');
  });

  it('names the known benches when asked for an unknown one', async () => {
    await expect(runBench('no-such-bench', [], { resultsDir })).rejects.toThrow(/join-latency/);
  });
});
