import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';

/**
 * A dockerd of a test's own, beside the one `npm test` runs for every test file (scripts/with-engine.sh): a test
 * can kill it, restart it, or give it a small filesystem, without disturbing the other test files. Same binaries
 * (the engine's, first on PATH); no default bridge and no iptables rules (the test apps need no network).
 */
export interface PrivateEngine {
  /** `unix://<socket>`: what DOCKER_HOST must say for the CLI and compose to use it. */
  readonly host: string;
  /** Its `--data-root` (DockerRootDir). */
  readonly dataRoot: string;
  readonly docker: Docker;
  /** DOCKER_HOST for a CLI run against it. */
  readonly env: NodeJS.ProcessEnv;
  /** Kills dockerd and the containerd it manages with SIGKILL, the way a crash takes them, and waits until they are gone. */
  kill(): Promise<void>;
  /** Starts it again on the same data (after `kill`). */
  start(): Promise<void>;
  /** Stops it for good and removes its state (what it mounted included), not `dataRoot`'s parent. */
  remove(): Promise<void>;
}

/** Starts a private dockerd; its files go under a new directory in /var/tmp (short: containerd's socket paths are limited). */
export async function startPrivateEngine(options: { dataRoot?: string } = {}): Promise<PrivateEngine> {
  const home = await mkdtemp('/var/tmp/fioup-e-');
  const dataRoot = options.dataRoot ?? join(home, 'root');
  await mkdir(dataRoot, { recursive: true });
  const socket = join(home, 'docker.sock');
  const host = `unix://${socket}`;
  const docker = new Docker({ socketPath: socket });
  let daemon: ChildProcess | undefined;

  const start = async () => {
    const log = openSync(join(home, 'dockerd.log'), 'a');
    daemon = spawn('dockerd', [
      '--data-root', dataRoot, '--exec-root', join(home, 'x'), '--pidfile', join(home, 'docker.pid'), '-H', host,
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--storage-driver', process.env.FIOUP_TEST_STORAGE_DRIVER ?? 'overlay2',
    ], { stdio: ['ignore', 'ignore', log], detached: true });
    closeSync(log);
    for (let attempt = 0; attempt < 300; attempt++) {
      if (await docker.ping().then(() => true, () => false)) return;
      if (daemon.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(`the private dockerd did not start: ${(await readFile(join(home, 'dockerd.log'), 'utf8')).slice(-2000)}`);
  };
  const killGroup = async (signal: NodeJS.Signals) => {
    const group = daemon?.pid;
    if (group === undefined || daemon?.exitCode !== null) return;
    const exited = new Promise((resolve) => daemon!.once('exit', resolve));
    try {
      process.kill(-group, signal);
    } catch {
      return;
    }
    await exited;
    // containerd, in dockerd's process group, goes with it; wait until it has let go of its socket.
    for (let attempt = 0; attempt < 100 && groupAlive(group); attempt++) await sleep(50);
  };

  await start();
  return {
    host,
    dataRoot,
    docker,
    env: { DOCKER_HOST: host },
    kill: () => killGroup('SIGKILL'),
    start,
    remove: async () => {
      for (const container of await docker.listContainers({ all: true }).catch(() => [])) {
        await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
      }
      await killGroup('SIGTERM');
      unmountUnder(home);
      if (options.dataRoot) unmountUnder(options.dataRoot);
      await rm(home, { recursive: true, force: true });
    },
  };
}

function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

/** dockerd leaves its data root and the containers' layers mounted when it dies. */
function unmountUnder(directory: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((target) => target.startsWith(`${directory}/`))
    .sort()
    .reverse();
  for (const target of mounts) execFileSync('umount', ['-l', target]);
}
