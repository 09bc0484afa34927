import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The CLI under test: the compiled `dist/cli/main.js` (scripts/test.sh builds it) on this node, or, when
 * FIOUP_TEST_CLI names one, a self-contained executable (scripts/test.sh runs the device tests again through the
 * x64 binary that way).
 */
export function cliCommand(): { program: string; args: string[] } {
  const executable = process.env.FIOUP_TEST_CLI;
  return executable ? { program: executable, args: [] } : { program: process.execPath, args: [`${repoRoot}dist/cli/main.js`] };
}

/** Runs the real CLI in a child process, the way a technician would. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const { program, args: before } = cliCommand();
  return runProgram(program, [...before, ...args], options);
}

/** The last JSON document of a `--json` run: its result (or error), after the NDJSON events. */
export function lastJsonDocument(stdout: string) {
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

/** Runs any program to completion, collecting its output. */
export function runProgram(program: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A CLI run in a process group of its own, its NDJSON progress (`--json`) read as it comes. */
export interface LiveCli {
  readonly pid: number;
  /** The step events received so far, in order (`<step> start` / `<step> done`), with when they came (ms after the start). */
  readonly steps: readonly { readonly label: string; readonly at: number }[];
  /** Kills the whole group with SIGKILL, the command and what it runs (compose, flock), as a power cut would. */
  kill(): void;
  readonly done: Promise<CliResult>;
}

export function spawnCli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): LiveCli {
  const { program, args: before } = cliCommand();
  const child = spawn(program, [...before, ...args, '--json'], {
    cwd: repoRoot, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let stdout = '';
  let stderr = '';
  let pending = '';
  const steps: { label: string; at: number }[] = [];
  const startedAt = Date.now();
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (event.event === 'step') steps.push({ label: `${event.step} ${event.state}`, at: Date.now() - startedAt });
    }
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  return {
    pid: child.pid!,
    steps,
    kill: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    done,
  };
}

/** The state letter of /proc/<pid>/stat: R, S, T (stopped, as FIOUP_OFFLINE_STOP_AT leaves a command)... */
export async function processState(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return /\) (\w)/.exec(stat)?.[1];
}

/** Waits (up to `timeoutMs`) for a command started with FIOUP_OFFLINE_STOP_AT to stop itself; its state letter then. */
export async function waitForStop(pid: number, timeoutMs = 30_000): Promise<string | undefined> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline && (await processState(pid)) !== 'T';) await sleep(25);
  return processState(pid);
}
