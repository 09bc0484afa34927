import { formatBytes, formatDuration } from '../lib/format.js';
import type { ProgressEvent } from '../lib/progress.js';
import { escapeControls, fitToWidth } from './terminal.js';

type BytesEvent = Extract<ProgressEvent, { type: 'bytes' }>;
type ItemEvent = Extract<ProgressEvent, { type: 'item' }>;
type WaitEvent = Extract<ProgressEvent, { type: 'wait' }>;

export interface ProgressViewOptions {
  /**
   * `live`: one line on a terminal, redrawn in place and cut to its width, with a line per finished item above it;
   * `lines`: for logs, a timestamped line every few seconds and one when a transfer ends.
   */
  readonly mode: 'live' | 'lines';
  readonly write: (text: string) => void;
  /** The terminal's width now (it may be resized). */
  readonly columns: () => number;
  readonly now?: () => number;
}

/** How often a transfer is shown: 5 redraws a second on a terminal, a line every 5 s in a log. */
const INTERVAL_MS = { live: 200, lines: 5000 } as const;
const MAX_BAR = 30;
const MIN_BAR = 10;
/** The label and counter keep at least this much before the bar is dropped. */
const MIN_NAME = 16;

/** What one label's transfer has done so far, for its average rate. */
interface Transfer {
  readonly label: string;
  readonly startedAt: number;
  lastShownAt: number;
  event: BytesEvent;
}

/**
 * Shows transfers (bytes, with files or images), finished items and waits. On a terminal it owns one line at the
 * bottom: whoever writes anything else clears it first (`clear`) and puts it back after (`restore`), so that no
 * stale copy of it is ever left on the screen. Every name in it comes from the medium: it is escaped.
 */
export class ProgressView {
  private transfer: Transfer | undefined;
  private waiting: { event: WaitEvent; lastShownAt: number } | undefined;
  /** The live line on the screen, if any. */
  private drawn: string | undefined;
  private readonly now: () => number;

  constructor(private readonly options: ProgressViewOptions) {
    this.now = options.now ?? Date.now;
  }

  bytes(event: BytesEvent): void {
    const now = this.now();
    let transfer = this.transfer;
    if (transfer?.label !== event.label || event.done < transfer.event.done) {
      transfer = { label: event.label, startedAt: now, lastShownAt: this.options.mode === 'lines' ? now : 0, event };
      this.transfer = transfer;
      this.waiting = undefined;
    }
    transfer.event = event;
    if (finished(event)) {
      this.clear();
      this.transfer = undefined;
      this.writeLine(summary(event, now - transfer.startedAt));
      return;
    }
    if (now - transfer.lastShownAt < INTERVAL_MS[this.options.mode]) return;
    transfer.lastShownAt = now;
    if (this.options.mode === 'live') this.draw(liveLine(event, rate(transfer, now), this.options.columns()));
    else this.writeLine(plainLine(event, rate(transfer, now)));
  }

  item(event: ItemEvent): void {
    const line = `${escapeControls(event.name, { singleLine: true })}: ${event.outcome}${event.bytes > 0 ? ` (${formatBytes(event.bytes)})` : ''} [${event.done}/${event.total}]`;
    if (this.options.mode === 'live') {
      this.clear();
      this.options.write(`${fitToWidth(`  ${line}`, this.options.columns())}\n`);
      this.restore();
    } else {
      this.writeLine(`${escapeControls(event.label, { singleLine: true })}: ${line}`);
    }
  }

  wait(event: WaitEvent): void {
    const now = this.now();
    const first = this.waiting?.event.what !== event.what;
    if (first) this.waiting = { event, lastShownAt: this.options.mode === 'lines' ? now : 0 };
    const waiting = this.waiting!;
    waiting.event = event;
    if (now - waiting.lastShownAt < INTERVAL_MS[this.options.mode]) return;
    waiting.lastShownAt = now;
    const line = `waiting for ${escapeControls(event.what, { singleLine: true })}: ${formatDuration(event.waitedMs / 1000)} of ${formatDuration(event.timeoutMs / 1000)}`;
    if (this.options.mode === 'live') this.draw(fitToWidth(line, this.options.columns()));
    else this.writeLine(line);
  }

  /** Takes the live line off the screen, before other text is written. */
  clear(): void {
    if (this.drawn === undefined) return;
    this.options.write('\r\x1b[2K');
    this.drawn = undefined;
  }

  /** Puts the live line back after other text was written, while its transfer goes on. */
  restore(): void {
    if (this.options.mode !== 'live' || this.drawn !== undefined) return;
    const transfer = this.transfer;
    if (transfer) this.draw(liveLine(transfer.event, rate(transfer, this.now()), this.options.columns()));
  }

  /** What was shown is over (a step ended, a message follows, the result): clear the line and forget it. */
  end(): void {
    this.clear();
    this.transfer = undefined;
    this.waiting = undefined;
  }

  private draw(line: string): void {
    if (line === this.drawn) return;
    this.options.write(`\r\x1b[2K${line}`);
    this.drawn = line;
  }

  /** A line that stays: in a log with its time, on a terminal above the live line. */
  private writeLine(text: string): void {
    if (this.options.mode === 'lines') {
      this.options.write(`${timestamp(this.now())} ${text}\n`);
      return;
    }
    const live = this.drawn !== undefined;
    this.clear();
    this.options.write(`${fitToWidth(text, this.options.columns())}\n`);
    if (live) this.restore();
  }
}

function finished(event: BytesEvent): boolean {
  return event.done >= event.total && (!event.files || event.files.done >= event.files.total) && (!event.images || event.images.done >= event.images.total);
}

function rate(transfer: Transfer, now: number): number {
  const seconds = (now - transfer.startedAt) / 1000;
  return seconds > 0 ? transfer.event.done / seconds : 0;
}

/** "image 3/6 web: nginx" (the images started so far, and the last one started), "37/120 files" */
function counter(event: BytesEvent): string {
  if (event.files) return `${event.files.done}/${event.files.total} files`;
  if (event.images) {
    const { done, total, active } = event.images;
    const latest = active.at(-1);
    return `image ${Math.min(Math.max(done + active.length, 1), total)}/${total}${latest === undefined ? '' : ` ${escapeControls(latest, { singleLine: true })}`}`;
  }
  return '';
}

function percent(event: BytesEvent): number {
  return event.total > 0 ? Math.floor((100 * event.done) / event.total) : 100;
}

function timeLeft(event: BytesEvent, bytesPerSecond: number): string | undefined {
  return bytesPerSecond > 0 ? `${formatDuration((event.total - event.done) / bytesPerSecond)} left` : undefined;
}

/**
 * `load image 3/6 web: nginx [#####-----] 45.2/120.0 MiB 38% 12.3 MiB/s 6 s left`, cut to `columns`: the name
 * gives way to the bar, the bar to the numbers.
 */
function liveLine(event: BytesEvent, bytesPerSecond: number, columns: number): string {
  const left = [escapeControls(event.label, { singleLine: true }), counter(event)].filter(Boolean).join(' ');
  const remaining = timeLeft(event, bytesPerSecond);
  const right = [` ${bytesOfTotal(event.done, event.total)}`, `${percent(event)}%`,
    ...(bytesPerSecond > 0 ? [`${formatBytes(bytesPerSecond)}/s`] : []), ...(remaining ? [remaining] : [])].join(' ');
  const room = Math.max(1, columns - 1);
  const leftRoom = room - right.length - (MIN_BAR + 3);
  if (leftRoom < MIN_NAME) return fitToWidth(`${fitToWidth(left, Math.max(2, room - right.length + 1))}${right}`, columns);
  const shortLeft = left.length > leftRoom ? fitToWidth(left, leftRoom + 1) : left;
  const barWidth = Math.min(MAX_BAR, room - shortLeft.length - right.length - 3);
  const bar = ` [${'#'.repeat(Math.floor((barWidth * percent(event)) / 100)).padEnd(barWidth, '-')}]`;
  return fitToWidth(`${shortLeft}${bar}${right}`, columns);
}

/** `45.2/120.0 MiB`, or `512.0 KiB/1.2 GiB` when the units differ. */
function bytesOfTotal(done: number, total: number): string {
  const [doneText, totalText] = [formatBytes(done), formatBytes(total)];
  const unit = totalText.split(' ')[1];
  return doneText.endsWith(` ${unit}`) ? `${doneText.split(' ')[0]}/${totalText}` : `${doneText}/${totalText}`;
}

/** `load: image 3/6 web: nginx, 45.2 MiB / 120.0 MiB (38%), 12.3 MiB/s, 6 s left` */
function plainLine(event: BytesEvent, bytesPerSecond: number): string {
  const what = counter(event);
  return `${escapeControls(event.label, { singleLine: true })}: ${what ? `${what}, ` : ''}${formatBytes(event.done)} / ${formatBytes(event.total)} (${percent(event)}%)` +
    `${bytesPerSecond > 0 ? `, ${formatBytes(bytesPerSecond)}/s` : ''}${timeLeft(event, bytesPerSecond) ? `, ${timeLeft(event, bytesPerSecond)}` : ''}`;
}

/** `write: 120 files, 120.0 MiB in 9 s (13.1 MiB/s)` */
function summary(event: BytesEvent, elapsedMs: number): string {
  const what = event.files ? `${event.files.total} files, ` : event.images ? `${event.images.total} image(s), ` : '';
  const seconds = elapsedMs / 1000;
  const took = seconds < 10 ? `${seconds.toFixed(1)} s` : formatDuration(seconds);
  return `${escapeControls(event.label, { singleLine: true })}: ${what}${formatBytes(event.total)} in ${took}` +
    `${seconds > 0 && event.total > 0 ? ` (${formatBytes(event.total / seconds)}/s)` : ''}`;
}

/** `2025-06-01T10:00:05Z`: the time of a log line, to the second. */
function timestamp(now: number): string {
  return new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
}
