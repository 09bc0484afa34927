import { Chalk, type ChalkInstance } from 'chalk';
import type { InterruptedAt } from '../lib/interruption.js';
import type { ProgressEvent } from '../lib/progress.js';
import { ProgressView } from './progress-view.js';
import { canRedraw, escapeControls, jsonLine, safeForTerminal, useColor, wrapToWidth } from './terminal.js';

export interface OutputOptions {
  json: boolean;
  /** `--color` (true), `--no-color` (false), or neither: then per stream, from NO_COLOR, FORCE_COLOR, TERM and whether it is a terminal. */
  color: boolean | undefined;
  verbose: boolean;
  /**
   * aklite-offline's `--log-level`: 0 trace and 1 debug (as --verbose: every step, stack traces), 2 info (default),
   * 3 warning (no progress), 4 error and 5 fatal (no warnings either). Results and errors always show.
   */
  logLevel: number;
}

/** A stream the CLI writes to: stdout or stderr, or a terminal's pseudo-terminal in tests. */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** The --json document of a failure, on one line. */
export function errorJsonLine(code: number, kind: string | undefined, message: string): string {
  return jsonLine({ error: { code, kind, message } });
}

/**
 * Everything the CLI prints goes through here, and this is the one place that makes it safe for a terminal: every
 * message, name and result field is written with its control characters escaped (lib/ quotes what the medium says,
 * escape sequences and all), and JSON is written with them as \u escapes. Only the colours painted here reach the
 * terminal as escape sequences. With `--json`, stdout carries only JSON (progress as NDJSON events with their time,
 * the result as the last document); human text goes to stderr. Without it, results go to stdout.
 */
export class Output {
  /** Colours of the result text (stdout). */
  readonly paint: ChalkInstance;
  /** Colours of messages and progress (stderr). */
  private readonly paintMessages: ChalkInstance;
  private readonly view: ProgressView;
  private readonly lastJsonEventAt = new Map<string, number>();
  private readonly steps = { current: undefined as string | undefined, done: new Set<string>() };

  constructor(
    readonly options: OutputOptions,
    private readonly stdout: OutputStream = process.stdout,
    private readonly stderr: OutputStream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const choice = { flag: options.color, env };
    this.paint = new Chalk({ level: !options.json && useColor(stdout, choice) ? 1 : 0 });
    this.paintMessages = new Chalk({ level: useColor(stderr, choice) ? 1 : 0 });
    this.view = new ProgressView({
      mode: canRedraw(stderr, env) ? 'live' : 'lines',
      write: (text) => this.stderr.write(text),
      columns: () => stderr.columns || 80,
    });
  }

  private get verbose(): boolean {
    return this.options.verbose || this.options.logLevel <= 1;
  }

  get json(): boolean {
    return this.options.json;
  }

  /** The steps the command went through so far, for the message after an interruption. */
  get stepsSoFar(): InterruptedAt {
    return this.steps;
  }

  /**
   * The command's result: a JSON document with --json, else the human rendering of the document made safe (every
   * string in it escaped): `human` gets that copy, and paints it.
   */
  result<T>(document: T, human: (safe: T) => string): void {
    this.view.end();
    if (this.json) this.stdout.write(jsonLine(document));
    else this.stdout.write(`${fitted(this.stdout, human(safeForTerminal(document)))}\n`);
  }

  warn(message: string): void {
    if (this.options.logLevel >= 4) return;
    if (this.json) {
      this.event('warning', { message });
      return;
    }
    this.message(`${this.paintMessages.yellow('warning:')} ${escapeControls(message)}`);
  }

  /** What only --verbose (or --log-level 0 or 1) shows. */
  detail(message: string): void {
    if (this.verbose) this.progress({ type: 'info', message });
  }

  /** A failure: one line on stderr (the stack with --verbose), and with --json the error document on stdout. */
  error(message: string, options: { detail?: string; code?: number; kind?: string } = {}): void {
    this.view.end();
    this.stderr.write(`${fitted(this.stderr, `${this.paintMessages.red('error:')} ${escapeControls(message)}`)}\n`);
    if (options.detail && this.verbose) this.stderr.write(`${escapeControls(options.detail)}\n`);
    if (this.json && options.code !== undefined) this.stdout.write(errorJsonLine(options.code, options.kind, message));
  }

  progress = (event: ProgressEvent): void => {
    if (event.type === 'step') this.trackStep(event);
    if (event.type === 'warning') {
      this.warn(event.message);
      return;
    }
    if (this.options.logLevel >= 3) return;
    if (this.json) {
      const { type, ...fields } = event;
      const throttled = (type === 'bytes' && event.done < event.total) || type === 'wait';
      if (!throttled || this.jsonEventDue(type)) this.event(type, fields);
      return;
    }
    switch (event.type) {
      case 'info':
        this.view.end();
        this.stderr.write(`${fitted(this.stderr, escapeControls(event.message))}\n`);
        return;
      case 'step':
        if (event.state === 'start' && !this.verbose) return;
        this.view.end();
        this.stderr.write(`${fitted(this.stderr, `${this.paintMessages.dim(`[${escapeControls(event.step, { singleLine: true })}]`)} ${event.state}` +
          `${event.detail ? `: ${escapeControls(event.detail)}` : ''}`)}\n`);
        return;
      case 'bytes':
        this.view.bytes(event);
        return;
      case 'item':
        this.view.item(event);
        return;
      case 'wait':
        this.view.wait(event);
    }
  };

  /** A line of text that is not progress: the live progress line steps aside for it, and comes back under it. */
  private message(line: string): void {
    this.view.clear();
    this.stderr.write(`${fitted(this.stderr, line)}\n`);
    this.view.restore();
  }

  /** An NDJSON event: its kind, its time, its fields. */
  private event(kind: string, fields: object): void {
    this.stdout.write(jsonLine({ event: kind, time: new Date().toISOString(), ...fields }));
  }

  /** Byte counts arrive per chunk and waits per poll: in NDJSON, one a second of each kind (and every last one). */
  private jsonEventDue(kind: string): boolean {
    const now = Date.now();
    if (now - (this.lastJsonEventAt.get(kind) ?? 0) < 1000) return false;
    this.lastJsonEventAt.set(kind, now);
    return true;
  }

  private trackStep(event: Extract<ProgressEvent, { type: 'step' }>): void {
    if (event.state === 'start') this.steps.current = event.step;
    else {
      this.steps.done.add(event.step);
      if (this.steps.current === event.step) this.steps.current = undefined;
    }
  }
}

/** Text for a stream: on a terminal, broken between words to its width. */
function fitted(stream: OutputStream, text: string): string {
  return stream.isTTY && stream.columns ? wrapToWidth(text, stream.columns) : text;
}
