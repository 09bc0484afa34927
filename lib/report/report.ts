import type { BuildInfo } from '../build-info.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { HistoryCommand, HistoryEntry, TargetRef } from '../device/history.js';
import type { DeviceIdentity } from './device-identity.js';
import { exitMeaning } from './exit-meanings.js';

/**
 * The report written onto the medium after an automatic update (docs/report.schema.json): who, what was installed
 * over what, each step with its exit code and meaning, each app's state, the errors with their fix, and how long it
 * all took. A person reads the `.txt` rendering; tools read this.
 */
export const REPORT_FORMAT = 'fioup-offline-report';
export const REPORT_FORMAT_VERSION = 1;

/** How the whole update ended, in one word. */
export type ReportResult = 'updated' | 'up-to-date' | 'reboot-scheduled' | 'rolled-back' | 'refused' | 'failed';

/** One `install` or `run` of the update, with the meaning of its exit code. */
export interface ReportStep extends HistoryEntry {
  readonly meaning: string;
}

export interface ReportError {
  readonly command: HistoryCommand;
  /** The error class, or 'rolled-back' for an update its own apps made fail. */
  readonly kind: string;
  readonly message: string;
  readonly logTail?: string;
  readonly fix: string | undefined;
}

export interface ReportApp {
  readonly name: string;
  readonly uri: string;
  readonly state: string;
}

export interface UpdateReport {
  readonly format: typeof REPORT_FORMAT;
  readonly formatVersion: typeof REPORT_FORMAT_VERSION;
  readonly tool: BuildInfo & { readonly name: string };
  readonly device: DeviceIdentity;
  /** The medium the update came from; null after a reboot, when the update finishes without it. */
  readonly medium: string | null;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly result: ReportResult;
  readonly exitCode: ExitCodeValue;
  readonly exitMeaning: string;
  /** The target current before the update, the one it installed (or tried to), and the one current now. */
  readonly previousTarget: TargetRef | null;
  readonly newTarget: TargetRef | null;
  readonly currentTarget: TargetRef | null;
  /** Installed and waiting for the reboot, when there is one. */
  readonly pendingTarget: TargetRef | null;
  readonly steps: readonly ReportStep[];
  readonly apps: readonly ReportApp[];
  readonly errors: readonly ReportError[];
  /** The device's updates before this one, newest first. */
  readonly earlierUpdates: readonly HistoryEntry[];
}

/** What the report is made from: the steps as the history recorded them, and the device before and after. */
export type ReportFacts = Pick<UpdateReport, 'device' | 'apps' | 'earlierUpdates'> & {
  readonly tool: BuildInfo;
  readonly medium: string | undefined;
  readonly period: { readonly startedAt: Date; readonly finishedAt: Date };
  readonly targets: { readonly previous?: TargetRef; readonly current?: TargetRef; readonly pending?: TargetRef };
  readonly steps: readonly HistoryEntry[];
};

export function buildReport(facts: ReportFacts): UpdateReport {
  const last = facts.steps.at(-1);
  const exitCode = last?.exitCode ?? ExitCode.ok;
  return {
    format: REPORT_FORMAT,
    formatVersion: REPORT_FORMAT_VERSION,
    tool: { name: 'fioup-offline', ...facts.tool },
    device: facts.device,
    medium: facts.medium ?? null,
    startedAt: facts.period.startedAt.toISOString(),
    finishedAt: facts.period.finishedAt.toISOString(),
    durationMs: facts.period.finishedAt.getTime() - facts.period.startedAt.getTime(),
    result: resultOf(facts.steps),
    exitCode,
    exitMeaning: exitMeaning(exitCode).meaning,
    previousTarget: facts.targets.previous ?? null,
    newTarget: facts.steps.findLast((step) => step.target)?.target ?? null,
    currentTarget: facts.targets.current ?? null,
    pendingTarget: facts.targets.pending ?? null,
    steps: facts.steps.map((step) => ({ ...step, meaning: exitMeaning(step.exitCode).meaning })),
    apps: facts.apps,
    errors: facts.steps.flatMap(errorOf),
    earlierUpdates: facts.earlierUpdates,
  };
}

/** Install failures leave the device as it was (refused); a run that fails after switching is a failure. */
function resultOf(steps: readonly HistoryEntry[]): ReportResult {
  const last = steps.at(-1);
  if (!last) return 'up-to-date';
  switch (last.result) {
    case 'failed': return last.command === 'install' ? 'refused' : 'failed';
    case 'rolled-back': return 'rolled-back';
    case 'reboot-required': return last.reason ? 'rolled-back' : 'reboot-scheduled';
    case 'up-to-date': return steps.some((step) => step.result === 'done') ? 'updated' : 'up-to-date';
    default: return 'updated';
  }
}

function errorOf(step: HistoryEntry): ReportError[] {
  if (!step.reason) return [];
  const kind = step.result === 'failed' ? step.error ?? 'Error' : 'rolled-back';
  return [{ command: step.command, kind, message: step.reason, ...(step.logTail ? { logTail: step.logTail } : {}), fix: exitMeaning(step.exitCode).fix }];
}
