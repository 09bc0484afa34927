import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { sampleApps, type AppSpec } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { C1_TERMINAL_ATTACK, TERMINAL_ATTACK, writeTarMedium } from '../../fixtures/hostile.js';
import { lastJsonDocument, runCli } from '../helpers/cli.js';
import { createTestDevice, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';
import { TmuxTerminal } from '../helpers/terminal.js';

const SEED = 'terminal';
const HARDWARE_ID = 'amd64-linux';
/** Three apps of two images each, a 3 MiB layer apiece: loads that take long enough to redraw the line many times. */
const apps = sampleApps.scaleApps({ count: 3, imagesPerApp: 2, layersPerImage: 1, layerSize: 3 << 20, seed: SEED })
  .map((app, index) => ({ ...app, name: `term-${index}` }));
/** An app whose healthcheck never passes: `run` waits for it until `start_timeout`. */
const SLOW_APP = 'term-slow';
const slowApp: AppSpec = {
  name: SLOW_APP,
  services: [{
    name: 'service',
    image: {
      name: SLOW_APP,
      cmd: ['sh', '-c', 'while true; do sleep 3600; done'],
      healthcheck: { test: ['CMD-SHELL', 'false'], intervalSeconds: 1, timeoutSeconds: 1, retries: 1000 },
    },
  }],
};
const SLOW_HARDWARE_ID = 'term-slow-linux';
/** What must never reach the terminal from the medium: an escape (7-bit or 8-bit CSI). */
const ESCAPE = /\u001b|\u009b/;

/** The rows the live progress line leaves when it is not cleared: a bar, a percentage, a time left. */
const PROGRESS_ROW = /\[[#-]{5,}\]|\d+%|\bleft\b/;

describe('the CLI on a real terminal (tmux at 80x24) and in logs', () => {
  let workdir: string;
  let factory: FactoryBuild;
  const devices: TestDevice[] = [];

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-terminal-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: SEED,
      targets: [
        { hardwareIds: [HARDWARE_ID], version: 1, apps },
        { hardwareIds: [SLOW_HARDWARE_ID], version: 1, apps: [slowApp] },
        // Signed metadata whose names carry escape sequences: one is refused (a C0 control), one is valid (C1).
        { hardwareIds: [`evil${TERMINAL_ATTACK}`, 'term-hostile-linux'], version: 2, apps: [], rootfs: false },
        { hardwareIds: [`c1${C1_TERMINAL_ATTACK}`, 'term-hostile-linux'], version: 3, apps: [], rootfs: false },
      ],
    }));
  });
  after(async () => {
    await removeComposeProjects([SLOW_APP, ...apps.map((app) => app.name)]);
    for (const device of devices) await removeTree(device.root);
    await removeTree(workdir);
  });

  /** Each install loads the images anew: none is left in Docker by the one before. */
  async function removeLoadedImages(): Promise<void> {
    const docker = new Docker();
    for (const app of factory.apps.filter((written) => apps.some((spec) => spec.name === written.name))) {
      for (const image of app.images) await docker.getImage(image.platforms.amd64!.configDigest).remove({ force: true }).catch(() => undefined);
    }
  }
  afterEach(removeLoadedImages);

  async function device(hardwareId = HARDWARE_ID, toml = ''): Promise<TestDevice> {
    const created = await createTestDevice(factory);
    devices.push(created);
    await created.configure('20-terminal.toml', `[provision]\nprimary_ecu_hardware_id = "${hardwareId}"\n${toml}`);
    return created;
  }

  test('a six-image install: one progress line redrawn in place, a line per image, nothing stale, every line within 80 columns', async () => {
    const { configDir } = await device();
    const terminal = await TmuxTerminal.start(['install', '--src-dir', factory.dirs.medium, '--config', configDir]);
    try {
      assert.equal(await terminal.exitCode(), 101, (await terminal.screen()).join('\n'));
      const screen = await terminal.screen();
      const shown = screen.join('\n');
      for (const line of screen) assert.ok(line.length <= 80, `${line.length} columns: ${line}`);
      assert.deepEqual(screen.filter((line) => PROGRESS_ROW.test(line)), [], 'no progress row is left behind');
      const images = screen.filter((line) => /^ {2}term-\d: scale-\d-image-\d: loaded \(4\.0 MiB\) \[\d\/6\]$/.test(line));
      assert.equal(new Set(images.map((line) => line.split(':').slice(0, 2).join(':'))).size, 6, shown);
      assert.deepEqual(images.map((line) => line.match(/\[(\d)\/6\]/)![1]), ['1', '2', '3', '4', '5', '6']);
      assert.match(shown, /^load: 6 image\(s\), 24\.0 MiB in [\d.]+ s/m);
      assert.match(shown, /^amd64-linux-lmp-1 \(version 1\) is installed \(6 image\(s\) loaded\)\. Run\n {2}'fioup-offline run' to start it/m,
        'the result is broken between words at the width, its continuation indented');
      const redraws = (await terminal.raw()).split('\r\u001b[2Kload image ').length - 1;
      assert.ok(redraws >= 2, `the progress line was drawn in place ${redraws} times`);
    } finally {
      await terminal.close();
    }
  });

  test('not on a terminal: timestamped lines per image and at the end; with --json, NDJSON events that carry their time', async () => {
    const plain = await device();
    const install = await plain.cli(['install', '--src-dir', factory.dirs.medium]);
    assert.equal(install.code, 101, install.stderr);
    assert.doesNotMatch(install.stderr, /\r/);
    assert.equal(install.stderr.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ load: term-\d: scale-\d-image-\d: loaded \(4\.0 MiB\) \[\d\/6\]$/gm)?.length, 6, install.stderr);
    assert.match(install.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ load: 6 image\(s\), 24\.0 MiB in [\d.]+ s/m);

    await removeLoadedImages();
    const json = await device();
    const result = await json.cli(['install', '--src-dir', factory.dirs.medium, '--json']);
    assert.equal(result.code, 101, result.stderr);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    const events = lines.slice(0, -1);
    assert.ok(events.every((event) => typeof event.event === 'string' && !Number.isNaN(Date.parse(event.time)) && event.time.endsWith('Z')), 'every event has its time');
    assert.deepEqual(events.filter((event) => event.event === 'item').map((event) => [event.done, event.total, event.outcome]), [1, 2, 3, 4, 5, 6].map((done) => [done, 6, 'loaded']));
    const last = events.filter((event) => event.event === 'bytes').at(-1);
    assert.deepEqual({ done: last.done === last.total, images: last.images }, { done: true, images: { done: 6, total: 6, active: [] } });
    assert.equal(lines.at(-1).outcome, 'apps-installed');
  });

  test('run says which app it waits for and how long; Ctrl-C says what it leaves and what to run next; the rerun says it resumes', async () => {
    const slow = await device(SLOW_HARDWARE_ID, '[offline]\nstart_timeout = 90\n');
    assert.equal((await slow.cli(['install', '--src-dir', factory.dirs.medium])).code, 101);
    const terminal = await TmuxTerminal.start(['run', '--config', slow.configDir]);
    try {
      const waiting = /^waiting for app term-slow \(service service is starting\): (\d+) s of 1 min 30 s$/;
      let seconds = 0;
      for (const deadline = Date.now() + 60_000; seconds < 3 && Date.now() < deadline; await sleep(250)) {
        seconds = Number((await terminal.screen()).map((line) => waiting.exec(line)?.[1]).find(Boolean) ?? 0);
      }
      assert.ok(seconds >= 3, `the wait is shown, and counts: ${(await terminal.screen()).join('\n')}`);
      await terminal.sendKeys('C-c');
      assert.equal(await terminal.exitCode(), 130);
      const screen = (await terminal.screen()).join('\n');
      assert.match(screen.replace(/\n {2}/g, ' '), /^error: run interrupted \(during start\): the switch to the new target is half done, some apps may be stopped; run 'fioup-offline run' again: it resumes the switch \(and rolls back if the new apps fail\)$/m);
      assert.doesNotMatch(screen, /waiting for app/, 'the wait line is cleared');
    } finally {
      await terminal.close();
    }
    assert.equal((await slow.state()).pending?.phase, 'switching');

    await slow.configure('30-timeout.toml', '[offline]\nstart_timeout = 3\n');
    const rerun = await slow.cli(['run', '--json']);
    assert.equal(rerun.code, 99, rerun.stderr);
    const events = rerun.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(events.find((event) => event.event === 'info')?.message, `resuming the switch to ${SLOW_HARDWARE_ID}-lmp-1, which was interrupted`);
    const waits = events.filter((event) => event.event === 'wait');
    assert.ok(waits.length >= 2, rerun.stdout);
    assert.ok(waits.every((event) => !Number.isNaN(Date.parse(event.time))));
    assert.ok(waits.some((event) => event.what === 'app term-slow (service service is starting)' && event.timeoutMs === 3000 && typeof event.waitedMs === 'number'));
    assert.equal(events.at(-1).outcome, 'rolled-back');
  });

  test('a hostile medium: names and messages from it reach the terminal with their escape sequences shown, not obeyed; JSON stays valid and exact', async () => {
    const hostile = await device('term-hostile-linux');
    const check = await hostile.cli(['check', '--src-dir', factory.dirs.medium, '--all']);
    assert.equal(check.code, 16, check.stderr);
    assert.doesNotMatch(check.stdout + check.stderr, ESCAPE);
    assert.match(check.stdout, /^c1\\x9b2J\\x9b1;32mOK: update verified\\x9b0m-lmp-3 \* +3 +- +installable$/m);
    assert.match(check.stdout, /^evil\\x1b\[2J\\x1b\[H\\x1b\[1;32mOK: update verified\\x1b\[0m-lmp-2 +- +- +invalid-target$/m);
    assert.match(check.stdout, /^Newer target available: c1\\x9b2J\\x9b1;32mOK: update verified\\x9b0m-lmp-3\./m);

    const json = await hostile.cli(['check', '--src-dir', factory.dirs.medium, '--all', '--json']);
    assert.doesNotMatch(json.stdout, ESCAPE, 'raw, the JSON holds no control character');
    const report = lastJsonDocument(json.stdout);
    const names = report.targets.map((row: { name: string }) => row.name);
    for (const name of [`c1${C1_TERMINAL_ATTACK}-lmp-3`, `evil${TERMINAL_ATTACK}-lmp-2`]) assert.ok(names.includes(name), `parsed, the name is exact: ${JSON.stringify(name)}`);

    // An archive entry, unsigned: the device refuses it, and the message names it.
    const tar = join(workdir, 'hostile.tar');
    await writeTarMedium(factory.dirs.medium, tar, [{ type: 'symlink', path: `apps/${TERMINAL_ATTACK}`, target: 'x' }]);
    const refused = await hostile.cli(['check', '--src-dir', tar]);
    assert.equal(refused.code, 11, refused.stderr);
    assert.doesNotMatch(refused.stdout + refused.stderr, ESCAPE);
    assert.match(refused.stderr, /^error: tar archive .*hostile\.tar: entry at byte \d+ \('apps\/\\x1b\[2J\\x1b\[H\\x1b\[1;32mOK: update verified\\x1b\[0m'\) is a symbolic link/m);

    const terminal = await TmuxTerminal.start(['check', '--src-dir', tar, '--config', hostile.configDir, '--no-color'], { before: 'echo BEFORE THE CHECK' });
    try {
      assert.equal(await terminal.exitCode(), 11);
      const screen = await terminal.screen({ withAttributes: true });
      assert.equal(screen[0], 'BEFORE THE CHECK', 'the screen was not cleared');
      assert.doesNotMatch(screen.join('\n'), ESCAPE, 'no colour, no cursor movement: tmux shows plain cells');
      assert.ok(screen.some((line) => line.includes("('apps/\\x1b[2J\\x1b[H\\x1b[1;32mOK: update verified\\x1b[0m')")));
    } finally {
      await terminal.close();
    }
  });

  test('bundle-create at 80 columns: the whole bundle on one line, then the read-back, nothing stale; a hostile target name escaped, an unusable target without a version', async () => {
    const terminal = await TmuxTerminal.start(['bundle-create', factory.dirs.medium, join(workdir, 'bundle.tar')]);
    try {
      assert.equal(await terminal.exitCode(), 0, (await terminal.screen()).join('\n'));
      const screen = await terminal.screen();
      for (const line of screen) assert.ok(line.length <= 80, `${line.length} columns: ${line}`);
      assert.deepEqual(screen.filter((line) => PROGRESS_ROW.test(line)), []);
      assert.equal(screen.filter((line) => /^write: \d+ files, [\d.]+ MiB in [\d.]+ s/.test(line)).length, 1, screen.join('\n'));
      assert.equal(screen.filter((line) => /^read back: \d+ files, [\d.]+ MiB in [\d.]+ s/.test(line)).length, 1, screen.join('\n'));
      assert.ok(screen.some((line) => line.startsWith('  evil\\x1b[2J\\x1b[H\\x1b[1;32mOK: update verified\\x1b[0m-lmp-2 (version -)')), screen.join('\n'));
    } finally {
      await terminal.close();
    }
  });

  test('colour per stream: stdout to a file has none while stderr on the terminal has it; NO_COLOR and TERM=dumb turn it off, TERM=dumb the live line too', async () => {
    const { configDir } = await device();
    const out = join(workdir, 'check.out');
    const coloured = await TmuxTerminal.start(['check', '--src-dir', factory.dirs.medium, '--config', configDir], { stdoutTo: out });
    try {
      assert.equal(await coloured.exitCode(), 16);
      const stdout = await readFile(out, 'utf8');
      assert.match(stdout, /installable/);
      assert.doesNotMatch(stdout, ESCAPE, 'stdout is a file: no colour');
      assert.match(await coloured.raw(), /\u001b\[2m\[verify\]/, 'stderr is the terminal: coloured');
    } finally {
      await coloured.close();
    }
    for (const env of [{ NO_COLOR: '1' }, { TERM: 'dumb' }] as Record<string, string>[]) {
      const plain = await device();
      const terminal = await TmuxTerminal.start(['install', '--src-dir', factory.dirs.medium, '--config', plain.configDir], { env });
      try {
        assert.equal(await terminal.exitCode(), 101);
        const raw = await terminal.raw();
        assert.doesNotMatch(raw, /\u001b\[[0-9;]*m/, `${JSON.stringify(env)}: no colour`);
        if (env.TERM === 'dumb') assert.doesNotMatch(raw, /\r\u001b\[2K/, 'TERM=dumb: no line redrawn in place');
        else assert.match(raw, /\r\u001b\[2K/);
      } finally {
        await terminal.close();
      }
    }
    const forced = await runCli(['check', '--src-dir', join(workdir, 'nowhere'), '--config', configDir], { env: { FORCE_COLOR: '1' } });
    assert.match(forced.stderr, /^\u001b\[31merror:\u001b\[39m /m, 'FORCE_COLOR colours a pipe');
  });
});
