import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { EngineUnavailableError } from '../errors.js';

export interface EngineVersion {
  /** dockerd's version, e.g. "26.1.5". */
  version: string;
  apiVersion: string;
}

export interface LocalImage {
  /** `sha256:<config hex>`. */
  id: string;
  repoTags: string[];
}

export interface ProjectContainer {
  id: string;
  name: string;
  /** The compose service (`com.docker.compose.service` label). */
  service: string;
  /** Docker's state: created, running, restarting, exited, dead... */
  status: string;
  exitCode: number;
  /** Present only when the container has a healthcheck: starting, healthy, unhealthy. */
  health: string | undefined;
}

const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';

/**
 * The few Docker Engine API calls fioup-offline needs, through dockerode (which honours DOCKER_HOST). dockerode is
 * loaded on first use, being a third of the CLI's start-up time: commands that never reach Docker do not pay for it.
 */
export class DockerEngine {
  private client: Promise<Docker> | undefined;
  private rootDirAnswer: Promise<string | undefined> | undefined;

  /**
   * Runs one exchange with dockerd; a connection that cannot be made or breaks off is an EngineUnavailableError
   * (dockerd is down, or died in the middle), whatever the call.
   */
  private async call<T>(work: (docker: Docker) => Promise<T>): Promise<T> {
    const docker = await this.dockerode();
    try {
      return await work(docker);
    } catch (error) {
      throw engineUnavailable(error) ?? error;
    }
  }

  private dockerode(): Promise<Docker> {
    this.client ??= import('dockerode').then(({ default: Dockerode }) => new Dockerode());
    return this.client;
  }

  private async containersOf(project: string): Promise<Docker.ContainerInfo[]> {
    return this.call((docker) => docker.listContainers({ all: true, filters: { label: [`${COMPOSE_PROJECT_LABEL}=${project}`] } }));
  }

  /**
   * Refuses at once when dockerd does not answer, saying what to do: commands that need Docker ask before they do
   * anything else (rather than fail with a socket error after verifying the medium).
   */
  async requireRunning(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const docker = await this.dockerode();
    try {
      await Promise.race([
        docker.ping(),
        new Promise((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${PING_TIMEOUT_MS / 1000} s`)), PING_TIMEOUT_MS))),
      ]);
    } catch (error) {
      throw dockerNotRunning(error);
    } finally {
      clearTimeout(timer);
    }
  }

  async version(): Promise<EngineVersion> {
    const info = await this.call((docker) => docker.version());
    return { version: info.Version, apiVersion: info.ApiVersion };
  }


  /**
   * Where dockerd keeps images and containers, for free-space checks; undefined when it does not say. Asked once
   * (`GET /info` takes dockerd a few hundred milliseconds): an install asks early and uses the answer later.
   */
  rootDir(): Promise<string | undefined> {
    this.rootDirAnswer ??= this.call(async (docker) => ((await docker.info()) as { DockerRootDir?: string }).DockerRootDir || undefined);
    return this.rootDirAnswer;
  }

  /** Whether Docker holds the image with this id (`sha256:<config hex>`). */
  async hasImage(id: string): Promise<boolean> {
    return (await this.imageIdOf(id)) === id;
  }

  /** The id of the image a reference (tag or id) names, or undefined when Docker has no such image. */
  async imageIdOf(reference: string): Promise<string | undefined> {
    return this.call(async (docker) => (await docker.getImage(reference).inspect()).Id).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
  }

  /** Points `<repo>:<tag>` at the image (moving the tag if it named another one). */
  async tag(imageId: string, repo: string, tag: string): Promise<void> {
    await this.call((docker) => docker.getImage(imageId).tag({ repo, tag }));
  }

  async listImages(): Promise<LocalImage[]> {
    const images = await this.call((docker) => docker.listImages());
    return images.map((image) => ({ id: image.Id, repoTags: (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>') }));
  }

  /** Removes a tag, or an image by id; `force` also removes an id that several tags name. Missing images are fine. */
  async removeImage(reference: string, options: { force?: boolean } = {}): Promise<void> {
    await this.call((docker) => docker.getImage(reference).remove({ force: options.force ?? false })).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }

  /** Sends a tar to `POST /images/load`; the answer is Docker's stream of JSON progress messages. */
  async loadImageTar(tar: Readable): Promise<Readable> {
    return (await this.call((docker) => docker.loadImage(tar, { quiet: false }))) as Readable;
  }

  /** Every container (running or not) of a compose project, with its state and health. */
  async projectContainers(project: string): Promise<ProjectContainer[]> {
    const listed = await this.containersOf(project);
    return Promise.all(listed.map(async (summary) => {
      const { State } = await this.call((docker) => docker.getContainer(summary.Id).inspect());
      return {
        id: summary.Id,
        name: (summary.Names[0] ?? summary.Id).replace(/^\//, ''),
        service: summary.Labels[COMPOSE_SERVICE_LABEL] ?? '',
        status: State.Status,
        exitCode: State.ExitCode,
        health: State.Health?.Status,
      };
    }));
  }

  /** Removes every container of a compose project, for when its compose file is gone. */
  async removeProjectContainers(project: string): Promise<void> {
    for (const container of await this.containersOf(project)) await this.call((docker) => docker.getContainer(container.Id).remove({ force: true }));
  }

  /** The last lines a container wrote to stdout and stderr, as text. */
  async logsTail(containerId: string, lines: number): Promise<string> {
    return this.call(async (docker) => {
      const container = docker.getContainer(containerId);
      const { Config } = await container.inspect();
      const raw = await container.logs({ stdout: true, stderr: true, tail: lines, follow: false });
      return Config.Tty ? raw.toString('utf8') : demultiplexLogs(raw).toString('utf8');
    });
  }
}

/** Errors of a connection to dockerd that could not be made or broke off. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The EngineUnavailableError for an error of the connection to dockerd (refused, no socket, broken off: dockerd
 * is down or died in the middle of the exchange); undefined for any other error, dockerd's answers included.
 */
export function engineUnavailable(error: unknown): EngineUnavailableError | undefined {
  if (error instanceof EngineUnavailableError) return error;
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  const connection = code !== undefined && (CONNECTION_ERRORS.has(code) || (code === 'ENOENT' && syscall === 'connect'));
  if (!connection && !/socket hang up/.test((error as Error | undefined)?.message ?? '')) return undefined;
  const host = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  return new EngineUnavailableError(`Docker does not answer at ${host} (${code ?? (error as Error).message}): ` +
    'start dockerd (systemctl start docker), then run the command again', { cause: error });
}

/** Without a TTY, Docker frames each log chunk with 8 bytes: stream type, 3 zero bytes, big-endian length. */
function demultiplexLogs(framed: Buffer): Buffer {
  const payloads: Buffer[] = [];
  for (let offset = 0; offset + 8 <= framed.length;) {
    const length = framed.readUInt32BE(offset + 4);
    payloads.push(framed.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(payloads);
}

const PING_TIMEOUT_MS = 10_000;

function dockerNotRunning(error: unknown): EngineUnavailableError {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EACCES') return new EngineUnavailableError(`cannot reach Docker (${message}): run as root, or as a member of the docker group`, { cause: error });
  return new EngineUnavailableError(`Docker is not running (${message}): start it with 'systemctl start docker'`, { cause: error });
}

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number } | undefined)?.statusCode === 404;
}
