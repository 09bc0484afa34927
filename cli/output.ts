import { Chalk } from 'chalk';
import { formatBytes } from '../lib/format.js';
import type { ProgressEvent } from '../lib/progress.js';

export interface OutputOptions {
  json: boolean;
  color: boolean;
  verbose: boolean;
  /**
   * aklite-offline's `--log-level`: 0 trace and 1 debug (as --verbose: every step, stack traces), 2 info (default),
   * 3 warning (no progress), 4 error and 5 fatal (no warnings either). Results and errors always show.
   */
  logLevel: number;
}

/**
 * Everything the CLI prints goes through here. With `--json`, stdout carries only JSON: progress as NDJSON
 * events and the result as the last document; human text goes to stderr. Without it, results go to stdout.
 */
export class Output {
  readonly paint;
  private lastProgressAt = 0;
  private progressLineOpen = false;
  /** The transfer being shown, for its rate and time left. */
  private transfer: { label: string; startedAt: number; done: number } | undefined;

  constructor(readonly options: OutputOptions, private readonly stdout = process.stdout, private readonly stderr = process.stderr) {
    this.paint = new Chalk({ level: options.color && !options.json && stdout.isTTY ? 1 : 0 });
  }

  private get verbose(): boolean {
    return this.options.verbose || this.options.logLevel <= 1;
  }

  get json(): boolean {
    return this.options.json;
  }

  /** The command's result: a JSON document with --json, else the human rendering. */
  result(document: unknown, human: () => string): void {
    this.endProgressLine();
    if (this.json) this.stdout.write(`${JSON.stringify(document)}\n`);
    else this.stdout.write(`${human()}\n`);
  }

  warn(message: string): void {
    if (this.options.logLevel >= 4) return;
    this.endProgressLine();
    if (this.json) this.stdout.write(`${JSON.stringify({ event: 'warning', message })}\n`);
    else this.stderr.write(`${this.paint.yellow('warning:')} ${message}\n`);
  }

  error(message: string, detail?: string): void {
    this.endProgressLine();
    this.stderr.write(`${this.paint.red('error:')} ${message}\n`);
    if (detail && this.verbose) this.stderr.write(`${detail}\n`);
  }

  progress = (event: ProgressEvent): void => {
    if (event.type === 'warning') {
      this.warn(event.message);
      return;
    }
    if (this.options.logLevel >= 3) return;
    if (this.json) {
      if (event.type === 'bytes' && !this.progressDue(event.done >= event.total)) return;
      this.stdout.write(`${JSON.stringify({ event: event.type, ...event, type: undefined })}\n`);
      return;
    }
    switch (event.type) {
      case 'info':
        this.endProgressLine();
        this.stderr.write(`${event.message}\n`);
        return;
      case 'step':
        if (event.state === 'start' && !this.verbose) return;
        this.endProgressLine();
        this.stderr.write(`${this.paint.dim(`[${event.step}]`)} ${event.state}${event.detail ? `: ${event.detail}` : ''}\n`);
        return;
      case 'bytes':
        this.bytes(event.label, event.done, event.total, event.files);
    }
  };

  private bytes(label: string, done: number, total: number, files?: { done: number; total: number }): void {
    const now = Date.now();
    if (this.transfer?.label !== label || done < this.transfer.done) this.transfer = { label, startedAt: now, done };
    this.transfer.done = done;
    const finished = done >= total && (!files || files.done >= files.total);
    if (!this.progressDue(finished)) return;
    const seconds = (now - this.transfer.startedAt) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = !finished && rate > 0 ? `, ${formatDuration((total - done) / rate)} left` : '';
    const line = `${label}: ${files ? `${files.done}/${files.total} files, ` : ''}${formatBytes(done)} / ${formatBytes(total)} (${total ? Math.floor((100 * done) / total) : 100}%` +
      `${rate > 0 ? `, ${formatBytes(rate)}/s` : ''}${eta})`;
    if (this.stderr.isTTY) {
      this.stderr.write(`\r\x1b[2K${line}`);
      this.progressLineOpen = !finished;
      if (finished) this.stderr.write('\n');
    } else {
      this.stderr.write(`${line}\n`);
    }
  }

  /** Byte counts arrive per chunk: show one every 200 ms on a terminal, 1 s in NDJSON, 5 s in logs, and the last. */
  private progressDue(finished: boolean): boolean {
    const now = Date.now();
    const interval = this.json ? 1000 : this.stderr.isTTY ? 200 : 5000;
    if (!finished && now - this.lastProgressAt < interval) return false;
    this.lastProgressAt = now;
    return true;
  }

  private endProgressLine(): void {
    if (this.progressLineOpen) {
      this.stderr.write('\n');
      this.progressLineOpen = false;
    }
  }
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.ceil(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
