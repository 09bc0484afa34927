import type { ProgressListener } from '../progress.js';

/** A named step of an update; each is safe to run again after a crash in it or after it. */
export interface Step {
  readonly name: string;
  run(): Promise<void>;
}

/**
 * Test hooks, named `<command>:<step>`: `FIOUP_OFFLINE_CRASH_AT` kills the process with SIGKILL just before that
 * step, the way a power cut would (no clean-up, no finally blocks), to prove that running the same command again
 * converges; `FIOUP_OFFLINE_STOP_AT` stops it there (SIGSTOP) until a SIGCONT, to hold it in the middle of its work.
 */
function testHooks(command: string, step: string): void {
  const here = `${command}:${step}`;
  if (process.env.FIOUP_OFFLINE_CRASH_AT === here) process.kill(process.pid, 'SIGKILL');
  if (process.env.FIOUP_OFFLINE_STOP_AT === here) process.kill(process.pid, 'SIGSTOP');
}

/** Runs steps in order, reporting the start and end of each. */
export async function runSteps(command: string, steps: readonly Step[], onProgress: ProgressListener): Promise<void> {
  for (const step of steps) {
    testHooks(command, step.name);
    onProgress({ type: 'step', step: step.name, state: 'start' });
    await step.run();
    onProgress({ type: 'step', step: step.name, state: 'done' });
  }
}
