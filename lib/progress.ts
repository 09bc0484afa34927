/** What long operations report while they work; the CLI decides how to show it (terminal, plain lines, NDJSON). */
export type ProgressEvent =
  | { type: 'step'; step: string; state: 'start' | 'done' | 'skipped'; detail?: string }
  /**
   * A transfer: bytes done of the total of the whole of it, with the files (a bundle) or the images (a load, a
   * content check) done of theirs; `images.active` names those under way. One label, one transfer.
   */
  | { type: 'bytes'; label: string; done: number; total: number; files?: Progress; images?: Progress & { active: readonly string[] } }
  /** One item of a transfer is finished (`done` of `total` now): an image loaded, or already there. */
  | { type: 'item'; label: string; name: string; outcome: string; bytes: number; done: number; total: number }
  /** Waiting for something outside (an app to run and be healthy): for how long so far, and at most. */
  | { type: 'wait'; what: string; waitedMs: number; timeoutMs: number }
  | { type: 'warning'; message: string }
  | { type: 'info'; message: string };

export interface Progress {
  readonly done: number;
  readonly total: number;
}

export type ProgressListener = (event: ProgressEvent) => void;

export const ignoreProgress: ProgressListener = () => {};
