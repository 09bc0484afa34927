import { spawn } from 'node:child_process';
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
