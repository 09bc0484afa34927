import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { extract } from 'tar';
import { parse } from 'yaml';
import { writeAppStore } from '../../fixtures/apps/app-store.js';
import type { AppSpec, WrittenApp } from '../../fixtures/apps/spec.js';
import { BlobStore, hexOf } from '../../fixtures/oci/blob-store.js';
import { Compose, detectCompose, type ComposeProject } from '../../lib/docker/compose.js';
import { parsePinnedReference } from '../../lib/oci/pinned-reference.js';
import { COMPOSE_OVERRIDE_FILE, composeOverrideYaml } from '../../lib/docker/compose-override.js';
import { DockerEngine } from '../../lib/docker/engine.js';
import { loadImages } from '../helpers/images.js';
import { ComposeError } from '../../lib/errors.js';
import { imageToLoad, verifiedOpener } from './oci-images.js';

const engine = new DockerEngine();
const quickHealthcheck = { intervalSeconds: 1, timeoutSeconds: 1, retries: 1 };

const APPS: AppSpec[] = [
  {
    name: 'shop',
    services: [
      { name: 'web', image: { name: 'web', cmd: ['sleep', '3600'], healthcheck: { test: ['CMD-SHELL', 'true'], ...quickHealthcheck } } },
      { name: 'worker', image: { name: 'worker', cmd: ['sleep', '3600'] } },
    ],
  },
  { name: 'crasher', services: [{ name: 'job', image: { name: 'crasher', cmd: ['sh', '-c', 'echo boom: no config >&2; exit 3'] } }] },
  { name: 'sickly', services: [{ name: 'api', image: { name: 'sickly', cmd: ['sleep', '3600'], healthcheck: { test: ['CMD', 'false'], ...quickHealthcheck, retries: 1000 } } }] },
];

describe('Compose runs apps whose images were loaded offline', () => {
  let dir: string;
  let compose: Compose;
  const projects = new Map<string, ComposeProject>();

  /** Loads the app's images, extracts its bundle as a compose project and writes the override beside it. */
  async function prepare(app: WrittenApp, store: BlobStore): Promise<ComposeProject> {
    const images = await Promise.all(app.images.map((image) => imageToLoad(store, image.ref)));
    await loadImages(engine, images, verifiedOpener(store));
    const project = { name: app.name, dir: join(dir, 'compose-apps', app.name) };
    await mkdir(project.dir, { recursive: true });
    await extract({ file: join(app.dir, `${hexOf(app.archiveDigest)}.tgz`), cwd: project.dir });
    await writeFile(join(project.dir, COMPOSE_OVERRIDE_FILE), composeOverrideYaml(Object.fromEntries(Object.entries(app.services).map(([service, reference]) => [service, parsePinnedReference(reference)!]))));
    return project;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fioup-compose-'));
    const written = await writeAppStore(join(dir, 'apps'), APPS, { factory: 'acme', seed: 'docker-compose' });
    const store = new BlobStore(join(dir, 'apps', 'blobs'));
    compose = new Compose(await detectCompose(), engine);
    for (const app of written) projects.set(app.name, await prepare(app, store));
  });
  after(async () => {
    for (const project of projects.values()) await compose.down(project).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  test('finds the compose of the engine under test', () => {
    assert.equal(compose.flavour.generation, process.env.FIOUP_TEST_ENGINE === 'docker20' ? 'v1' : 'v2');
  });

  test('services pinned by digest come up from the local tags, running and healthy, and go down', async () => {
    const project = projects.get('shop')!;
    const pinned = parse(await readFile(join(project.dir, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { image: string }> };
    assert.match(pinned.services.web!.image, /^hub\.foundries\.io\/acme\/web@sha256:[0-9a-f]{64}$/);

    await compose.up(project, { timeoutMs: 30_000 });
    const containers = await compose.ps(project);
    assert.deepEqual(containers.map((container) => [container.service, container.status, container.health]).sort(), [
      ['web', 'running', 'healthy'],
      ['worker', 'running', undefined],
    ]);

    await compose.down(project);
    assert.deepEqual(await compose.ps(project), []);
  });

  test('a service that exits fails `up` with its exit code and the end of its log', async () => {
    await assert.rejects(compose.up(projects.get('crasher')!, { timeoutMs: 30_000 }), (error: unknown) => {
      assert.ok(error instanceof ComposeError, String(error));
      assert.match(error.message, /app crasher: service job \(.+\) is exited with code 3; its last log lines:\nboom: no config$/);
      return true;
    });
  });

  test('a service that never turns healthy fails `up` once the timeout is over', async () => {
    const started = Date.now();
    await assert.rejects(compose.up(projects.get('sickly')!, { timeoutMs: 2_000, pollIntervalMs: 200 }), (error: unknown) => {
      assert.ok(error instanceof ComposeError, String(error));
      assert.match(error.message, /app sickly: service api \(.+\) is still starting after 2 s; it logged nothing/);
      return true;
    });
    assert.ok(Date.now() - started >= 2_000);
  });

  test('a compose failure carries compose\'s own message', async () => {
    const broken = { name: 'broken', dir: join(dir, 'compose-apps', 'broken') };
    projects.set(broken.name, broken);
    await mkdir(broken.dir, { recursive: true });
    await writeFile(join(broken.dir, 'docker-compose.yml'), 'services:\n  x:\n    image: hub.foundries.io/acme/missing:sha256-0\n');
    await assert.rejects(compose.up(broken, { timeoutMs: 5_000 }), (error: unknown) => {
      assert.ok(error instanceof ComposeError, String(error));
      assert.match(error.message, /^app broken: `docker(-| )compose up` failed: .*missing/s);
      return true;
    });
  });
});
