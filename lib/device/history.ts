import { join } from 'node:path';
import { exitCodeForError, exitCodeForOutcome, type ExitCodeValue, type Outcome } from '../exit-codes.js';
import { readJsonLeniently, writeJsonAtomic } from '../fs/atomic.js';
import { explainSystemError } from '../fs/system-errors.js';
import type { ProgressListener } from '../progress.js';
import type { DeviceStateStore, TargetRecord } from './state.js';

/** A target as the history names it. */
export interface TargetRef {
  readonly name: string;
  readonly version: number;
}

export type HistoryCommand = 'install' | 'run';

/** One `install` or `run` that got as far as taking the device lock: what it set out to do and how it ended. */
export interface HistoryEntry {
  readonly command: HistoryCommand;
  readonly startedAt: string;
  readonly durationMs: number;
  /** The target installed or run; undefined when the command failed before choosing one. */
  readonly target: TargetRef | undefined;
  /** The target current when the command started. */
  readonly previous: TargetRef | undefined;
  /** The outcome, or 'failed' when the command ended with an error. */
  readonly result: Outcome | 'failed';
  readonly exitCode: ExitCodeValue;
  /** The error class of a failure (`DowngradeRefusedError`...). */
  readonly error?: string;
  /** Why the command failed or the update was rolled back: the first line of the message. */
  readonly reason?: string;
  /** The lines after it: the failing service's last log lines. */
  readonly logTail?: string;
}

const HISTORY_FORMAT_VERSION = 1;
/** Entries kept: the oldest go first. */
const HISTORY_LIMIT = 100;
/** A hundred entries with their log tails stay far below this. */
const MAX_HISTORY_BYTES = 16 << 20;

/** `<storage>/fioup-offline/history.json`, newest entry last; every write is atomic. */
export class UpdateHistory {
  private readonly path: string;

  constructor(stateDirectory: string) {
    this.path = join(stateDirectory, 'history.json');
  }

  static of(state: DeviceStateStore): UpdateHistory {
    return new UpdateHistory(state.directory);
  }

  /** Every entry, oldest first; a history that cannot be read is empty (it informs, it never blocks an update). */
  async load(): Promise<HistoryEntry[]> {
    const entries = ((await readJsonLeniently(this.path, { what: 'update history', maxBytes: MAX_HISTORY_BYTES })) as { entries?: unknown } | undefined)?.entries;
    return Array.isArray(entries) ? (entries as HistoryEntry[]) : [];
  }

  async append(entry: HistoryEntry): Promise<void> {
    const entries = [...(await this.load()), entry].slice(-HISTORY_LIMIT);
    await writeJsonAtomic(this.path, { formatVersion: HISTORY_FORMAT_VERSION, entries });
  }
}

/** What a command learns as it goes, for its history entry: the target it works on and the one it started from. */
export interface Attempt {
  target?: TargetRef;
  previous?: TargetRef;
}

export function targetRef(target: TargetRecord | undefined): TargetRef | undefined {
  return target && { name: target.name, version: target.version };
}

/**
 * Runs a command's work (the caller holds the device lock) and appends its history entry, whether it returned an
 * outcome or threw (a system error thrown as the typed error it is, see system-errors.ts). A history that cannot be
 * written is a warning: the update's own state is what matters.
 */
export async function recordAttempt<T extends { readonly outcome: Outcome; readonly failure?: string }>(
  state: DeviceStateStore, command: HistoryCommand, onProgress: ProgressListener, work: (attempt: Attempt) => Promise<T>, known: Attempt = {},
): Promise<T> {
  const startedAt = new Date();
  const attempt: Attempt = { ...known };
  const entry = (ending: Pick<HistoryEntry, 'result' | 'exitCode' | 'error'>, message: string | undefined): HistoryEntry => ({
    command,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    target: attempt.target,
    previous: attempt.previous,
    ...ending,
    ...splitReason(message),
  });
  const append = async (value: HistoryEntry) => {
    await UpdateHistory.of(state).append(value).catch((error: unknown) => {
      onProgress({ type: 'warning', message: `the update history could not be written: ${(explainSystemError(error) as Error).message}` });
    });
  };
  let result: T;
  try {
    result = await work(attempt);
  } catch (raw) {
    const error = explainSystemError(raw);
    await append(entry({ result: 'failed', exitCode: exitCodeForError(error), error: (error as Error)?.name }, (error as Error)?.message ?? String(error)));
    throw error;
  }
  await append(entry({ result: result.outcome, exitCode: exitCodeForOutcome(result.outcome) }, result.failure));
  return result;
}

/** "reason; its last log lines:\n<lines>" → the reason, and the lines as the log tail. */
function splitReason(message: string | undefined): Pick<HistoryEntry, 'reason' | 'logTail'> {
  if (!message) return {};
  const [first, ...rest] = message.split('\n');
  const logTail = rest.join('\n').trim();
  return { reason: first!, ...(logTail ? { logTail } : {}) };
}

/** Why the target last failed: the reason of the newest `run` of it that rolled it back or could not. */
export function failureReason(entries: readonly HistoryEntry[], targetName: string): string | undefined {
  return entries.findLast((entry) => entry.command === 'run' && entry.target?.name === targetName && entry.reason !== undefined)?.reason;
}
