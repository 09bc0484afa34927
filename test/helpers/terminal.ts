import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cliCommand, repoRoot } from './cli.js';

const run = promisify(execFile);

export interface TerminalOptions {
  readonly columns?: number;
  readonly rows?: number;
  readonly env?: Readonly<Record<string, string>>;
  /** A shell command run first, on the same terminal (`echo ...` to see whether the screen gets cleared). */
  readonly before?: string;
  /** The CLI's stdout goes to this file instead of the terminal. */
  readonly stdoutTo?: string;
}

/** A shell word: the text in single quotes. */
function quote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * The CLI in a real pseudo-terminal: a tmux session of its own (its own server socket) of `columns` x `rows`, the
 * way a technician's serial console or ssh session shows it. Everything written to the terminal is recorded raw
 * (`raw`), and the screen as tmux shows it in the end, with its scrollback and wrapped lines joined, is `screen`.
 */
export class TmuxTerminal {
  private constructor(private readonly dir: string, private readonly socket: string) {}

  /** Starts the CLI with `args`; it begins once the recording of the terminal is in place. */
  static async start(args: readonly string[], options: TerminalOptions = {}): Promise<TmuxTerminal> {
    const dir = await mkdtemp(join(tmpdir(), 'fioup-tmux-'));
    const terminal = new TmuxTerminal(dir, join(dir, 'tmux.sock'));
    const { program, args: before } = cliCommand();
    const env = Object.entries(options.env ?? {}).map(([name, value]) => `export ${name}=${quote(value)}`);
    // bash: on Ctrl-C it waits for the CLI, which handles the signal and exits, then goes on (dash may die first).
    await writeFile(join(dir, 'run.sh'), [
      `while [ ! -e ${quote(join(dir, 'go'))} ]; do sleep 0.05; done`,
      `cd ${quote(repoRoot)}`,
      ...env,
      ...(options.before ? [options.before] : []),
      `${[program, ...before, ...args].map(quote).join(' ')}${options.stdoutTo ? ` > ${quote(options.stdoutTo)}` : ''}`,
      `echo $? > ${quote(join(dir, 'exit'))}`,
      'sleep 3600',
    ].join('\n'));
    await terminal.tmux('new-session', '-d', '-s', 'cli', '-x', String(options.columns ?? 80), '-y', String(options.rows ?? 24), `bash ${quote(join(dir, 'run.sh'))}`);
    await terminal.tmux('pipe-pane', '-o', '-t', 'cli', `cat >> ${quote(join(dir, 'raw'))}`);
    await writeFile(join(dir, 'go'), '');
    return terminal;
  }

  /** Waits for the CLI to exit; its exit status. */
  async exitCode(timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await readFile(join(this.dir, 'exit'), 'utf8').catch(() => '');
      if (text.trim() !== '') return Number(text.trim());
      if (Date.now() > deadline) throw new Error(`the CLI did not exit within ${timeoutMs / 1000} s; the screen:\n${(await this.screen()).join('\n')}`);
      await sleep(100);
    }
  }

  /** Sends keys to the terminal, as tmux names them (`C-c` for Ctrl-C). */
  async sendKeys(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', 'cli', ...keys);
  }

  /** Every line of the screen and its scrollback, wrapped lines joined, trailing blank lines dropped. */
  async screen(options: { withAttributes?: boolean } = {}): Promise<string[]> {
    const { stdout } = await this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'cli', ...(options.withAttributes ? ['-e'] : []));
    const lines = stdout.split('\n').map((line) => line.trimEnd());
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  /** Every byte the CLI wrote to the terminal. */
  async raw(): Promise<string> {
    // pipe-pane writes through a pipe: give it a moment after the CLI exited.
    for (let tries = 0; tries < 20 && !(await stat(join(this.dir, 'raw')).catch(() => undefined)); tries++) await sleep(50);
    await sleep(200);
    return readFile(join(this.dir, 'raw'), 'utf8').catch(() => '');
  }

  async close(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private tmux(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], { env: { ...process.env, TERM: 'xterm-256color' } });
  }
}
