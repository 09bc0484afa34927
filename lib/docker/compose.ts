import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ComposeError } from '../errors.js';
import type { DockerEngine, ProjectContainer } from './engine.js';

/** Which compose implementation the device has: the v2 CLI plugin (`docker compose`) or v1 (`docker-compose`). */
export interface ComposeFlavour {
  generation: 'v1' | 'v2';
  /** The command and the arguments before compose's own: `['docker', 'compose']` or `['docker-compose']`. */
  command: readonly [string, ...string[]];
  version: string;
}

/** A compose project: the app's directory (holding `docker-compose.yml`) and its project name, the app name. */
export interface ComposeProject {
  name: string;
  dir: string;
}

export interface WaitOptions {
  /** How long the containers may take to be running, and healthy where they have a healthcheck. */
  timeoutMs?: number;
  pollIntervalMs?: number;
  /** Log lines of the failing container that the error carries. */
  logLines?: number;
  /** How long every container must have been up before the project counts as started. */
  settleMs?: number;
  /** Hears at every poll what is waited for ("service db is starting") and since when. */
  onWaiting?: (what: string, waitedMs: number) => void;
}

const DEFAULT_WAIT: Required<Omit<WaitOptions, 'onWaiting'>> = { timeoutMs: 120_000, pollIntervalMs: 500, logLines: 30, settleMs: 2_000 };

/** Finds the compose implementation: v2 first (what fioup requires), then v1. */
export async function detectCompose(): Promise<ComposeFlavour> {
  const candidates: ComposeFlavour['command'][] = [['docker', 'compose'], ['docker-compose']];
  for (const command of candidates) {
    try {
      const { stdout } = await run(command, ['version', '--short']);
      const version = stdout.trim().replace(/^v/, '');
      return { generation: version.startsWith('1.') ? 'v1' : 'v2', command, version };
    } catch {
      // not installed, or not working: try the next one
    }
  }
  throw new ComposeError('neither `docker compose` (v2) nor `docker-compose` (v1) works on this device');
}

/** Runs compose for app projects and watches their containers through the engine. */
export class Compose {
  constructor(readonly flavour: ComposeFlavour, private readonly engine: DockerEngine) {}

  /**
   * `up -d --remove-orphans` (v2: `--pull never`, so a missing image fails instead of reaching for a registry;
   * v1 has no such option), then waits for every container to run and, where it has a healthcheck, be healthy.
   */
  async up(project: ComposeProject, options: WaitOptions = {}): Promise<void> {
    await this.start(project);
    await this.waitUntilRunning(project, options);
  }

  /** `up -d --remove-orphans` without waiting: start several projects, then wait for each. */
  async start(project: ComposeProject): Promise<void> {
    const pull = this.flavour.generation === 'v2' ? ['--pull', 'never'] : [];
    await this.compose(project, ['up', '-d', '--remove-orphans', ...pull]);
  }

  async down(project: ComposeProject): Promise<void> {
    await this.compose(project, ['down', '--remove-orphans']);
  }

  /** The project's containers with their state (from Docker's labels: the same for v1 and v2). */
  ps(project: ComposeProject): Promise<ProjectContainer[]> {
    return this.engine.projectContainers(project.name);
  }

  /**
   * Polls until every container runs (and is healthy) and has stayed so for `settleMs`, so that a service that
   * crashes right after starting is not taken for a running one; fails early on one that exited, died or turned
   * unhealthy.
   */
  async waitUntilRunning(project: ComposeProject, options: WaitOptions = {}): Promise<void> {
    const { timeoutMs, pollIntervalMs, logLines, settleMs, onWaiting } = { ...DEFAULT_WAIT, ...options };
    const startedAt = Date.now();
    const deadline = startedAt + timeoutMs;
    let upSince: number | undefined;
    for (;;) {
      const containers = await this.ps(project);
      if (containers.length === 0) throw new ComposeError(`app ${project.name}: compose started no container`);
      const failed = containers.find((container) => ['exited', 'dead'].includes(container.status) || container.health === 'unhealthy');
      if (failed) throw await this.containerError(project, failed, stateOf(failed), logLines);
      const waiting = containers.find((container) => container.status !== 'running' || (container.health ?? 'healthy') !== 'healthy');
      if (waiting) upSince = undefined;
      else if ((upSince ??= Date.now()) + settleMs <= Date.now()) return;
      if (waiting && Date.now() >= deadline) {
        throw await this.containerError(project, waiting, `still ${stateOf(waiting)} after ${timeoutMs / 1000} s`, logLines);
      }
      onWaiting?.(waiting ? `service ${waiting.service} is ${stateOf(waiting)}` : 'running, making sure it stays up', Date.now() - startedAt);
      await sleep(pollIntervalMs);
    }
  }

  private async containerError(project: ComposeProject, container: ProjectContainer, what: string, logLines: number): Promise<ComposeError> {
    const logs = (await this.engine.logsTail(container.id, logLines)).trimEnd();
    return new ComposeError(`app ${project.name}: service ${container.service} (${container.name}) is ${what}`
      + (logs ? `; its last log lines:\n${logs}` : '; it logged nothing'));
  }

  private async compose(project: ComposeProject, args: string[]): Promise<void> {
    try {
      await run(this.flavour.command, ['--ansi', 'never', '-p', project.name, ...args], project.dir);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new ComposeError(`app ${project.name}: \`${[...this.flavour.command, args[0]].join(' ')}\` failed: ${stderr || (error as Error).message}`, { cause: error });
    }
  }
}

function stateOf(container: ProjectContainer): string {
  if (container.status === 'exited') return `exited with code ${container.exitCode}`;
  return container.health && container.status === 'running' ? container.health : container.status;
}

function run(command: readonly string[], args: string[], cwd?: string): Promise<{ stdout: string; stderr: string }> {
  const [program, ...before] = command;
  return new Promise((resolve, reject) => {
    execFile(program!, [...before, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolve({ stdout, stderr });
    });
  });
}
