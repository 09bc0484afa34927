import type { ProgressListener } from '../progress.js';
import type { PayloadHandler } from './payload.js';

/** A named step of an update; each is safe to run again after a crash in it or after it. */
export interface Step {
  readonly name: string;
  run(): Promise<void>;
}

/** The steps every install and run has, whatever the payloads; each payload adds its own (`PartStepNames`). */
export const commonStepNames = {
  install: { verify: 'verify', space: 'space', commit: 'commit' },
  run: { mark: 'mark', finish: 'finish', clean: 'clean' },
} as const;

/**
 * The install steps of a plan whose parts these handlers carry out, in order, in aktualizr-lite's two phases (the
 * download and the install of its callbacks). Download: verify and the space check over all parts, then each part's
 * fetch. Install: the staging that changes nothing that boots, the commit of the installation, then the staging that
 * does (a rootfs deployment).
 */
export function installPhases(handlers: readonly Pick<PayloadHandler, 'stepNames'>[]): { download: string[]; install: string[] } {
  const { verify, space, commit } = commonStepNames.install;
  const names = handlers.map((handler) => handler.stepNames);
  return {
    download: [verify, space, ...names.map((step) => step.fetch)],
    install: [
      ...names.filter((step) => !step.stageAfterCommit).map((step) => step.stage),
      commit,
      ...names.filter((step) => step.stageAfterCommit).map((step) => step.stage),
    ],
  };
}

/** Both phases' steps, in order. */
export function installStepNames(handlers: readonly Pick<PayloadHandler, 'stepNames'>[]): string[] {
  const { download, install } = installPhases(handlers);
  return [...download, ...install];
}

/**
 * The run steps of such a plan: mark the switch, each part's switch steps, finish (the target is current), clean
 * (what only the previous payload used goes).
 */
export function runStepNames(handlers: readonly Pick<PayloadHandler, 'stepNames'>[]): string[] {
  const { mark, finish, clean } = commonStepNames.run;
  return [mark, ...handlers.flatMap((handler) => handler.stepNames.switch), finish, clean];
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
