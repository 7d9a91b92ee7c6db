/**
 * all: every bench, one after the other, each in its own process as `npm run bench --
 * <name>` runs it (so each writes its own report too), then one summary: each goal's
 * headline figure (bench/goals.ts), the goal, and whether it is met. `--quick` runs each
 * bench at the small size in QUICK; `--benches a,b` runs only those. A bench that cannot
 * run (a missing prerequisite) or fails says so in its rows; the others run all the same.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Goal, GOALS } from './goals';
import { EXIT_MISSING_PREREQUISITE } from './prerequisites';
import type { Bench, BenchReport, Row } from './run';

const REPO_ROOT = join(__dirname, '..');

/** Each bench's arguments for `--quick`: small, yet at the size its goals are set for. */
export const QUICK: Record<string, string[]> = {
  'join-latency': ['--sizes', '50', '--viewers', 'light', '--rounds', '1'],
  'signaling-capacity': ['--sizes', '10000', '--idle-seconds', '1'],
  portal: ['--duration', '2'],
  turn: ['--clients', '20', '--messages', '300'],
  xmpp: ['--occupants', '5', '--messages', '10000', '--burst', '500', '--prosody-burst', '0'],
  'sfu-fanout': ['--seconds', '2', '--rounds', '1'],
  'join-burst': ['--participants', '500'],
  churn: ['--cycles', '2', '--checkpoints', '1'],
  cluster: ['--rooms', '50', '--joins', '50', '--kills', '2'],
  'jitsi-join': ['--rounds', '3'],
  recording: ['--rooms', '4', '--seconds', '10'],
  cascade: ['--participants', '60', '--seconds', '3'],
  resume: ['--trials', '1', '--cut-ms', '2000'],
  'large-room': ['--participants', '10', '--pages', '2', '--seconds', '3'],
};

/** A bench that has not answered by then is killed (with every process it started). */
const TIME_LIMIT_S = { quick: 300, full: 3600 };

type Outcome = { report: BenchReport; file: string } | { notRun: string } | { failed: string };

/**
 * `npm run bench -- <name> <args>` in a process of its own, and a process group of its
 * own so that everything it started (shards, reference servers, clients) can be killed
 * with it.
 */
function runInOwnProcess(
  name: string,
  args: string[],
  timeLimitSeconds: number,
  progress: (message: string) => void,
): Promise<Outcome> {
  const child = spawn(
    process.execPath,
    ['--require', join(__dirname, 'register-ts.js'), join(__dirname, 'run.ts'), name, ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const killAll = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  // run.ts ends its output with "[<name>] <what went wrong>" when it fails.
  let lastLine = '';
  createInterface({ input: child.stderr! }).on('line', (line) => {
    progress(line);
    if (line.startsWith(`[${name}] `)) lastLine = line.slice(name.length + 3);
  });
  // In a group of its own, the bench does not get the terminal's Ctrl-C: pass it on.
  const interrupted = (signal: NodeJS.Signals) => {
    killAll();
    process.exit(128 + constants.signals[signal]);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killAll();
  }, timeLimitSeconds * 1000);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      const file = /^results: (.+)$/m.exec(stdout)?.[1];
      if (code === 0 && file) {
        resolve({ file, report: JSON.parse(readFileSync(file, 'utf8')) as BenchReport });
      } else if (code === EXIT_MISSING_PREREQUISITE) {
        resolve({ notRun: lastLine });
      } else if (timedOut) {
        resolve({ failed: `no result after ${timeLimitSeconds} s (killed)` });
      } else {
        resolve({ failed: signal ? `ended by ${signal} after "${lastLine}"` : lastLine });
      }
    });
  });
}

function verdict(goal: Goal, outcome: Outcome): { value: string; met: string } {
  if ('notRun' in outcome) return { value: `not run: ${outcome.notRun}`, met: 'not run' };
  if ('failed' in outcome) return { value: `failed: ${outcome.failed}`, met: 'failed' };
  const { value, met } = goal.judge(outcome.report.rows);
  return { value, met: met === undefined ? '—' : met ? 'yes' : 'no' };
}

export const all: Bench = {
  columns: ['bench', 'figure', 'value', 'goal', 'met'],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        quick: { type: 'boolean' },
        benches: { type: 'string', default: Object.keys(QUICK).join(',') },
      },
    });
    const names = values.benches.split(',');
    const unknown = names.filter((name) => !QUICK[name]);
    if (unknown.length) {
      throw new Error(
        `unknown benches ${unknown.join(', ')}; known: ${Object.keys(QUICK).join(', ')}`,
      );
    }
    const rows: Row[] = [];
    for (const name of names) {
      const benchArgs = values.quick ? QUICK[name] : [];
      const command = ['npm run bench --', name, ...benchArgs].join(' ');
      progress(command);
      const started = Date.now();
      const timeLimit = values.quick ? TIME_LIMIT_S.quick : TIME_LIMIT_S.full;
      const outcome = await runInOwnProcess(name, benchArgs, timeLimit, progress);
      const seconds = Math.round((Date.now() - started) / 1000);
      const report = 'report' in outcome ? outcome : undefined;
      for (const goal of GOALS.filter((g) => g.bench === name)) {
        const { value, met } = verdict(goal, outcome);
        rows.push({
          bench: name,
          figure: goal.figure,
          value,
          goal: goal.goal,
          met,
          source: goal.source,
          command,
          seconds,
          // Other work on the machine skews the figures: the 1-minute load as the bench began.
          load: report?.report.machine.loadAverageAtStart ?? '',
          report: report ? relative(REPO_ROOT, report.file) : '',
        });
      }
    }
    const judged = rows.filter((row) => row.met === 'yes' || row.met === 'no');
    progress(
      `${judged.filter((row) => row.met === 'yes').length} of ${judged.length} goals met; ` +
        `not run: ${rows.filter((row) => row.met === 'not run').length}, ` +
        `failed: ${rows.filter((row) => row.met === 'failed').length}`,
    );
    return rows;
  },
};
