/** What long operations report while they work; the CLI decides how to show it (terminal, plain lines, NDJSON). */
export type ProgressEvent =
  | { type: 'step'; step: string; state: 'start' | 'done' | 'skipped'; detail?: string }
  | { type: 'bytes'; label: string; done: number; total: number; files?: { done: number; total: number } }
  | { type: 'warning'; message: string }
  | { type: 'info'; message: string };

export type ProgressListener = (event: ProgressEvent) => void;

export const ignoreProgress: ProgressListener = () => {};
