/**
 * Client load generators in child processes: they share neither the shard's event loop
 * nor its heap, and the operating system spreads them over the cores.
 */
import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

export class ChildClients<Command, Report extends { type: string }> {
  private constructor(private readonly child: ChildProcess) {}

  /** Starts bench/<script> (TypeScript) in a new Node process with an IPC channel. */
  static start<C, R extends { type: string }>(script: string): ChildClients<C, R> {
    const child = fork(join(__dirname, script), [], {
      execArgv: ['--require', join(__dirname, 'register-ts.js')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new ChildClients<C, R>(child);
  }

  /** Sends a command and resolves with the next report of the given type. */
  ask<T extends Report['type']>(
    command: Command,
    replyType: T,
    onOther: (report: Report) => void = () => undefined,
  ): Promise<Extract<Report, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (report: Report) => {
        if (report.type !== replyType) return onOther(report);
        cleanup();
        resolve(report as Extract<Report, { type: T }>);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`client process exited (${code}) before answering`));
      };
      const cleanup = () => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(command as object);
    });
  }

  async close(command: Command): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send(command as object);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
