/**
 * What a bench needs beyond this project: Debian packages whose commands it runs (the
 * reference servers coturn and Prosody, HAProxy, ...), installed with
 * scripts/apt-install.sh when missing, as the test setup installs them; and services it
 * connects to but cannot start itself (Redis, PostgreSQL). A bench checks its
 * prerequisites before it starts anything; one that cannot be had ends the bench with
 * one line saying what to run (MissingPrerequisite).
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Prerequisite {
  /** Makes sure it is there, installing it when it can; else throws MissingPrerequisite. */
  ensure(progress: (message: string) => void): Promise<void>;
}

/** A prerequisite that cannot be had; the message says what to run. */
export class MissingPrerequisite extends Error {}

/** How `npm run bench` ends when a prerequisite is missing (sysexits' EX_UNAVAILABLE). */
export const EXIT_MISSING_PREREQUISITE = 69;

const APT_INSTALL = join(__dirname, '..', 'scripts', 'apt-install.sh');
const APT_TIMEOUT_MS = 10 * 60_000;

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** scripts/apt-install.sh, its output on our stderr; resolves whether it succeeded. */
function aptInstall(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('bash', [APT_INSTALL, name], {
      stdio: ['ignore', 2, 2],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), APT_TIMEOUT_MS);
    child.once('error', () => resolve(false));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** A Debian package whose commands a bench runs; installed when one is not on PATH. */
export function debianPackage(name: string, commands: string[]): Prerequisite {
  return {
    async ensure(progress) {
      if (commands.every(onPath)) return;
      progress(`installing the Debian package ${name}`);
      const installed = await aptInstall(name);
      const missing = commands.filter((command) => !onPath(command));
      if (missing.length === 0) return;
      throw new MissingPrerequisite(
        `${missing.join(', ')} (Debian package ${name}) not found on PATH` +
          `${installed ? '' : ', and installing it failed'}: run "bash scripts/apt-install.sh ${name}"`,
      );
    },
  };
}

/** A service a bench connects to; `answers` rejects when it does not answer. */
export function service(
  name: string,
  url: string,
  answers: () => Promise<unknown>,
  whatToRun: string,
): Prerequisite {
  return {
    async ensure() {
      try {
        await answers();
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new MissingPrerequisite(
          `${name} at ${url} does not answer (${reason}): ${whatToRun}`,
        );
      }
    },
  };
}
