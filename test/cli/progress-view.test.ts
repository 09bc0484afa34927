import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProgressView } from '../../cli/progress-view.js';
import { fitToWidth } from '../../cli/terminal.js';
import { TERMINAL_ATTACK } from '../../fixtures/hostile.js';
import type { ProgressEvent } from '../../lib/progress.js';

/**
 * Just enough of a terminal to see what stays on its screen: printable characters wrap at the last column (the
 * pending-wrap of xterm: the cursor stays on the last column until the next character), `\r` returns, ESC [2K
 * erases the row, `\n` moves down.
 */
class ScreenModel {
  readonly rows: string[] = [''];
  private row = 0;
  private column = 0;
  private pendingWrap = false;

  constructor(private readonly width: number) {}

  write(text: string): void {
    for (let index = 0; index < text.length; index++) {
      const character = text[index]!;
      if (text.startsWith('\u001b[2K', index)) {
        this.rows[this.row] = '';
        index += 3;
      } else if (character === '\r') {
        this.column = 0;
        this.pendingWrap = false;
      } else if (character === '\n') {
        this.down();
      } else {
        if (this.pendingWrap) this.down();
        const line = this.rows[this.row]!.padEnd(this.column);
        this.rows[this.row] = line.slice(0, this.column) + character + line.slice(this.column + 1);
        if (this.column === this.width - 1) this.pendingWrap = true;
        else this.column++;
      }
    }
  }

  private down(): void {
    this.row++;
    this.column = 0;
    this.pendingWrap = false;
    if (this.rows.length <= this.row) this.rows.push('');
  }

  /** The rows with text, as the screen shows them. */
  get text(): string[] {
    return this.rows.map((row) => row.trimEnd()).filter((row) => row !== '');
  }
}

/** Image loads: `images` of `size` bytes each, two at once, in steps of a quarter image; one event every 100 ms. */
function imageLoad(names: string[], size: number): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  const sent = names.map(() => 0);
  let done = 0;
  const bytes = (active: string[]): ProgressEvent => ({
    type: 'bytes', label: 'load', done: sent.reduce((sum, value) => sum + value, 0), total: size * names.length, images: { done, total: names.length, active },
  });
  for (let pair = 0; pair < names.length; pair += 2) {
    const active = names.slice(pair, pair + 2);
    for (let quarter = 1; quarter <= 4; quarter++) {
      for (const [offset] of active.entries()) {
        sent[pair + offset] = (size * quarter) / 4;
        if (quarter < 4) events.push(bytes(active));
      }
    }
    for (const [offset, name] of active.entries()) {
      done++;
      events.push({ type: 'item', label: 'load', name, outcome: 'loaded', bytes: size, done, total: names.length });
      events.push(bytes(active.slice(offset + 1)));
    }
  }
  return events;
}

function play(view: ProgressView, clock: { now: number }, events: ProgressEvent[]): void {
  for (const event of events) {
    clock.now += 100;
    if (event.type === 'bytes') view.bytes(event);
    else if (event.type === 'item') view.item(event);
    else if (event.type === 'wait') view.wait(event);
  }
}

const names = ['web: hub.foundries.io/acme/nginx-with-a-very-long-repository-name', 'db: postgres', 'api: api', 'cache: redis', 'worker: worker', 'ui: ui'];

describe('progress on a terminal and in a log', () => {
  for (const width of [80, 40, 150]) {
    test(`live at ${width} columns: one line redrawn in place, a line per image, a summary, nothing stale, nothing wider than the screen`, () => {
      const screen = new ScreenModel(width);
      const clock = { now: 0 };
      const view = new ProgressView({ mode: 'live', write: (text) => screen.write(text), columns: () => width, now: () => clock.now });
      let redraws = 0;
      const counting = new ProgressView({ mode: 'live', write: (text) => void (text.startsWith('\r\u001b[2K') && redraws++), columns: () => width, now: () => clock.now });
      const events = imageLoad(names, 4 << 20);
      play(view, clock, events);
      play(counting, { now: 0 }, events);
      assert.ok(redraws > 10, `${redraws} redraws`);
      assert.deepEqual(screen.text.slice(0, -1), names.map((name, index) => fitToWidth(`  ${name}: loaded (4.0 MiB) [${index + 1}/6]`, width)));
      assert.match(screen.text.at(-1)!, width > 50 ? /^load: 6 image\(s\), 24\.0 MiB in [\d.]+ s \([\d.]+ MiB\/s\)$/ : /^load: 6 image\(s\), 24\.0 MiB in .*…$/);
      for (const row of screen.rows) assert.ok(row.length <= width, `${row.length} > ${width}: ${row}`);
    });
  }

  test('the live line is cut to the terminal, shows the image under way, bytes, a bar, the rate and the time left; it steps aside for messages', () => {
    const written: string[] = [];
    const clock = { now: 0 };
    const view = new ProgressView({ mode: 'live', write: (text) => written.push(text), columns: () => 80, now: () => clock.now });
    view.bytes({ type: 'bytes', label: 'load', done: 0, total: 100 << 20, images: { done: 0, total: 6, active: ['web: nginx'] } });
    clock.now = 2000;
    view.bytes({ type: 'bytes', label: 'load', done: 20 << 20, total: 100 << 20, images: { done: 1, total: 6, active: ['web: nginx', 'db: postgres'] } });
    assert.equal(written.at(-1), '\r\u001b[2Kload image 3/6 db: postgres [##--------] 20.0/100.0 MiB 20% 10.0 MiB/s 8 s left');
    clock.now = 3000;
    view.bytes({ type: 'bytes', label: 'load', done: 30 << 20, total: 100 << 20, images: { done: 1, total: 6, active: ['web: nginx', 'db: hub.foundries.io/acme/a-very-long-repository-name'] } });
    const drawn = written.at(-1);
    assert.equal(drawn, '\r\u001b[2Kload image 3/6 db: hub.fou… [###-------] 30.0/100.0 MiB 30% 10.0 MiB/s 7 s left', 'the name gives way to the bar');
    view.clear();
    assert.equal(written.at(-1), '\r\u001b[2K');
    view.restore();
    assert.equal(written.at(-1), drawn, 'drawn again after the message');
    view.end();
    view.restore();
    assert.equal(written.at(-1), '\r\u001b[2K', 'once ended, it stays away');
  });

  test('in a log: a timestamped line every 5 s, a line per image and a summary, no carriage return', () => {
    const written: string[] = [];
    const clock = { now: Date.UTC(2025, 5, 1, 10, 0, 0) };
    const view = new ProgressView({ mode: 'lines', write: (text) => written.push(text), columns: () => 80, now: () => clock.now });
    for (let second = 0; second <= 12; second++) {
      clock.now += 1000;
      view.bytes({ type: 'bytes', label: 'write', done: second << 20, total: 13 << 20, files: { done: second, total: 13 } });
    }
    view.bytes({ type: 'bytes', label: 'write', done: 13 << 20, total: 13 << 20, files: { done: 13, total: 13 } });
    assert.deepEqual(written, [
      '2025-06-01T10:00:06Z write: 5/13 files, 5.0 MiB / 13.0 MiB (38%), 1.0 MiB/s, 8 s left\n',
      '2025-06-01T10:00:11Z write: 10/13 files, 10.0 MiB / 13.0 MiB (76%), 1.0 MiB/s, 3 s left\n',
      '2025-06-01T10:00:13Z write: 13 files, 13.0 MiB in 12 s (1.1 MiB/s)\n',
    ]);
  });

  test('waiting for an app: what it waits for and for how long, redrawn; names from the medium are escaped', () => {
    const written: string[] = [];
    const clock = { now: 0 };
    const view = new ProgressView({ mode: 'live', write: (text) => written.push(text), columns: () => 80, now: () => clock.now });
    for (let poll = 0; poll < 6; poll++) {
      clock.now += 500;
      view.wait({ type: 'wait', what: `app ${TERMINAL_ATTACK} (service db is starting)`, waitedMs: poll * 500, timeoutMs: 120_000 });
    }
    assert.match(written.at(-1)!, /^\r\u001b\[2Kwaiting for app \\x1b\[2J\\x1b\[H\\x1b\[1;32mOK: update verified\\x1b\[0m \(service db .*…$/);
    assert.equal([...written.at(-1)!].length - '\r\u001b[2K'.length, 79);
    view.wait({ type: 'wait', what: 'app web (service server is starting)', waitedMs: 12_000, timeoutMs: 120_000 });
    assert.equal(written.at(-1), '\r\u001b[2Kwaiting for app web (service server is starting): 12 s of 2 min');
    view.item({ type: 'item', label: 'load', name: TERMINAL_ATTACK, outcome: 'loaded', bytes: 1024, done: 1, total: 1 });
    assert.ok(written.every((text) => !text.replace(/^\r\u001b\[2K/, '').includes('\u001b')), 'no escape of the medium reaches the terminal');
  });
});
