import { spawn } from 'node:child_process';

/** The steps aktualizr-lite reports to `[pacman] callback_program` (docs/formats.md section 8). */
export type CallbackStep =
  | 'check-for-update-pre'
  | 'check-for-update-post'
  | 'download-pre'
  | 'download-post'
  | 'install-pre'
  | 'install-post'
  | 'install-final-pre';

/** The targets a callback names: the one the device runs now, and the one being installed; each when there is one. */
export interface CallbackTargets {
  readonly current?: string | undefined;
  readonly installing?: string | undefined;
}

/**
 * `[pacman] callback_program`, run as liteclient.cc runs it: through the shell, with `MESSAGE` (the step),
 * `CURRENT_TARGET` (the path of `<storage>/current-target`), and `CURRENT_TARGET_NAME`, `INSTALL_TARGET_NAME` and
 * `RESULT` only when they have a value. Its output goes to stderr (stdout may carry JSON); its exit status is
 * reported as a warning and never changes the update's course.
 */
export class CallbackProgram {
  constructor(
    private readonly program: string | undefined,
    private readonly currentTargetPath: string,
    private readonly onWarning: (message: string) => void,
  ) {}

  async notify(step: CallbackStep, targets: CallbackTargets, result?: string): Promise<void> {
    if (!this.program) return;
    const env: NodeJS.ProcessEnv = { ...process.env, MESSAGE: step, CURRENT_TARGET: this.currentTargetPath };
    for (const name of ['CURRENT_TARGET_NAME', 'INSTALL_TARGET_NAME', 'RESULT']) delete env[name];
    if (targets.current) env.CURRENT_TARGET_NAME = targets.current;
    if (targets.installing) env.INSTALL_TARGET_NAME = targets.installing;
    if (result) env.RESULT = result;
    const status = await new Promise<number | string>((resolve) => {
      const child = spawn(this.program!, [], { env, shell: true, stdio: ['ignore', process.stderr, process.stderr] });
      child.on('error', (error) => resolve(error.message));
      child.on('close', (code, signal) => resolve(code ?? signal ?? -1));
    });
    if (status !== 0) this.onWarning(`callback ${this.program} (${step}) ended with ${typeof status === 'number' ? `status ${status}` : status}`);
  }
}
