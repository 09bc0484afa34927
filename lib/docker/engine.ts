import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { DockerNotRunningError } from '../errors.js';

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

  private docker(): Promise<Docker> {
    this.client ??= import('dockerode').then(({ default: Dockerode }) => new Dockerode());
    return this.client;
  }

  private async image(reference: string): Promise<Docker.Image> {
    return (await this.docker()).getImage(reference);
  }

  private async container(id: string): Promise<Docker.Container> {
    return (await this.docker()).getContainer(id);
  }

  private async containersOf(project: string): Promise<Docker.ContainerInfo[]> {
    return (await this.docker()).listContainers({ all: true, filters: { label: [`${COMPOSE_PROJECT_LABEL}=${project}`] } });
  }

  /**
   * Refuses at once when dockerd does not answer, saying what to do: commands that need Docker ask before they do
   * anything else (rather than fail with a socket error after verifying the medium).
   */
  async requireRunning(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (await this.docker()).ping(),
        new Promise((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${PING_TIMEOUT_MS / 1000} s`)), PING_TIMEOUT_MS))),
      ]);
    } catch (error) {
      throw dockerNotRunning(error);
    } finally {
      clearTimeout(timer);
    }
  }

  async version(): Promise<EngineVersion> {
    const info = await (await this.docker()).version();
    return { version: info.Version, apiVersion: info.ApiVersion };
  }

  /**
   * Where dockerd keeps images and containers, for free-space checks; undefined when it does not say. Asked once
   * (`GET /info` takes dockerd a few hundred milliseconds): an install asks early and uses the answer later.
   */
  rootDir(): Promise<string | undefined> {
    this.rootDirAnswer ??= this.docker().then(async (docker) => ((await docker.info()) as { DockerRootDir?: string }).DockerRootDir || undefined);
    return this.rootDirAnswer;
  }

  /** Whether Docker holds the image with this id (`sha256:<config hex>`). */
  async hasImage(id: string): Promise<boolean> {
    return (await this.imageIdOf(id)) === id;
  }

  /** The id of the image a reference (tag or id) names, or undefined when Docker has no such image. */
  async imageIdOf(reference: string): Promise<string | undefined> {
    try {
      return (await (await this.image(reference)).inspect()).Id;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Points `<repo>:<tag>` at the image (moving the tag if it named another one). */
  async tag(imageId: string, repo: string, tag: string): Promise<void> {
    await (await this.image(imageId)).tag({ repo, tag });
  }

  async listImages(): Promise<LocalImage[]> {
    const images = await (await this.docker()).listImages();
    return images.map((image) => ({ id: image.Id, repoTags: (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>') }));
  }

  /** Removes a tag, or an image by id; `force` also removes an id that several tags name. Missing images are fine. */
  async removeImage(reference: string, options: { force?: boolean } = {}): Promise<void> {
    try {
      await (await this.image(reference)).remove({ force: options.force ?? false });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Sends a tar to `POST /images/load`; the answer is Docker's stream of JSON progress messages. */
  async loadImageTar(tar: Readable): Promise<Readable> {
    return (await (await this.docker()).loadImage(tar, { quiet: false })) as Readable;
  }

  /** Every container (running or not) of a compose project, with its state and health. */
  async projectContainers(project: string): Promise<ProjectContainer[]> {
    const listed = await this.containersOf(project);
    return Promise.all(listed.map(async (summary) => {
      const { State } = await (await this.container(summary.Id)).inspect();
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
    for (const container of await this.containersOf(project)) await (await this.container(container.Id)).remove({ force: true });
  }

  /** The last lines a container wrote to stdout and stderr, as text. */
  async logsTail(containerId: string, lines: number): Promise<string> {
    const container = await this.container(containerId);
    const { Config } = await container.inspect();
    const raw = await container.logs({ stdout: true, stderr: true, tail: lines, follow: false });
    return Config.Tty ? raw.toString('utf8') : demultiplexLogs(raw).toString('utf8');
  }
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

function dockerNotRunning(error: unknown): DockerNotRunningError {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'EACCES') return new DockerNotRunningError(`cannot reach Docker (${message}): run as root, or as a member of the docker group`, { cause: error });
  return new DockerNotRunningError(`Docker is not running (${message}): start it with 'systemctl start docker'`, { cause: error });
}

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number } | undefined)?.statusCode === 404;
}
