import type { ProgressListener } from '../progress.js';

/** A named step of an update; each is safe to run again after a crash in it or after it. */
export interface Step {
  readonly name: string;
  run(): Promise<void>;
}

/**
 * Test hook: `FIOUP_OFFLINE_CRASH_AT=<command>:<step>` kills the process with SIGKILL just before that step,
 * the way a power cut would (no clean-up, no finally blocks). Tests use it to prove that running the same
 * command again converges.
 */
function crashIfAsked(command: string, step: string): void {
  if (process.env.FIOUP_OFFLINE_CRASH_AT === `${command}:${step}`) process.kill(process.pid, 'SIGKILL');
}

/** Runs steps in order, reporting the start and end of each. */
export async function runSteps(command: string, steps: readonly Step[], onProgress: ProgressListener): Promise<void> {
  for (const step of steps) {
    crashIfAsked(command, step.name);
    onProgress({ type: 'step', step: step.name, state: 'start' });
    await step.run();
    onProgress({ type: 'step', step: step.name, state: 'done' });
  }
}
