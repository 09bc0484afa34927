import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { AppSpec } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { SeededRandom } from '../../fixtures/random.js';
import { spawnCli, waitForStop, type LiveCli } from '../helpers/cli.js';
import { createTestDevice, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';
import { deviceSnapshot, type DeviceSnapshot } from '../helpers/snapshot.js';

const APP = 'faultapp';
const hardwareIds = ['amd64-linux'];
const target = (version: number) => `amd64-linux-lmp-${version}`;
const KILLED = -1;

/**
 * Two images with a layer of their own each (so that a load takes a moment), and a project of some files (so that
 * staging does): version 1 and 2 differ in every image and file.
 */
function faultApp(version: number): AppSpec {
  const filler = (name: string) => ({ name: `${APP}-${name}`, fillerLayers: [{ size: 3 << 20, seed: `faults-${version}` }], cmd: ['sh', '-c', 'while true; do sleep 3600; done'] });
  return {
    name: APP,
    services: [{ name: 'one', image: filler('one') }, { name: 'two', image: filler('two') }],
    files: Array.from({ length: 24 }, (_, index) => ({ path: `data/${index}.txt`, content: `version ${version} file ${index}\n`.repeat(2000) })),
  };
}

/** Where kills are aimed: the steps with work inside, the long ones more often. */
const aims = {
  install: ['load', 'load', 'load', 'load', 'stage', 'stage', 'stage', 'verify'],
  run: ['stop', 'stop', 'switch', 'switch', 'start', 'start', 'start', 'start', 'clean', 'clean'],
} as const;
/** Each cycle kills an install and a run: 24 kills. */
const CYCLES = 12;

describe('killed at random instants inside install and run, the rerun ends where an uninterrupted run does', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let device: TestDevice;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-faults-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'faults',
      targets: [{ hardwareIds, version: 1, apps: [faultApp(1)] }, { hardwareIds, version: 2, apps: [faultApp(2)] }],
    }));
    device = await createTestDevice(factory);
  });
  after(async () => {
    await removeComposeProjects([APP]);
    await removeTree(workdir);
    await removeTree(device.root);
  });

  const install = (version: number) => ['install', '--src-dir', factory.dirs.medium, '--target', target(version), '--force'];

  test(`${2 * CYCLES} kills with a fixed seed: same exit codes, images, containers and files as without them`, async () => {
    // Uninterrupted runs: what each target looks like once reached from the other, and how long each step takes
    // (the shortest time seen, so that a kill aimed into a step comes before the command ends).
    const durations = new Map<string, number>();
    const uninterrupted = async (version: number) => {
      for (const [args, code] of [[install(version), 101], [['run'], 0]] as const) {
        const cli = spawnCli([...args, '--config', device.configDir]);
        const result = await cli.done;
        assert.equal(result.code, code, result.stderr);
        for (const [name, duration] of stepDurations(cli)) durations.set(name, Math.min(duration, durations.get(name) ?? Infinity));
      }
      return deviceSnapshot(device, factory, [APP]);
    };
    await uninterrupted(1);
    durations.clear();
    const reference = new Map<number, DeviceSnapshot>([[2, await uninterrupted(2)], [1, await uninterrupted(1)]]);
    assert.notDeepEqual(reference.get(1), reference.get(2));

    const random = new SeededRandom('faults', 'instants');
    const landings: string[] = [];
    for (let cycle = 0, version = 2; cycle < CYCLES; cycle++, version = 3 - version) {
      const commands: [keyof typeof aims, string[], number][] = [['install', install(version), 101], ['run', ['run'], 0]];
      for (const [command, args, code] of commands) {
        const aimed = aims[command][random.below(aims[command].length)]!;
        const delay = Math.floor(((random.below(850) / 1000) * (durations.get(aimed) ?? 0)));
        // The command stops itself just before the aimed step; the delay runs from there.
        const cli = spawnCli([...args, '--config', device.configDir], { env: { FIOUP_OFFLINE_STOP_AT: `${command}:${aimed}` } });
        assert.equal(await waitForStop(cli.pid), 'T', `${command} reached its ${aimed} step`);
        process.kill(cli.pid, 'SIGCONT');
        await sleep(delay);
        cli.kill();
        const killed = await cli.done;
        const landing = cli.steps.some(({ label }) => label === `${aimed} done`) ? `past ${aimed}` : `inside ${aimed}`;
        const where = `cycle ${cycle}: ${command} killed ${delay} ms into ${aimed}, ${landing}`;
        landings.push(killed.code === KILLED ? `${command} ${landing}` : `${command} ended before the kill`);

        // A run killed after it closed the installation (its last write) did all of its work: nothing is pending.
        const state = await device.state();
        const completed = command === 'run' && state.pending === undefined && state.current?.name === target(version);
        const rerun = await device.cli(args);
        assert.equal(rerun.code, completed || killed.code === 0 ? 40 : code, `${where}, run again: ${rerun.stderr}`);
      }
      assert.deepEqual(await deviceSnapshot(device, factory, [APP]), reference.get(version), `cycle ${cycle}: the device as an uninterrupted update leaves it`);
    }
    // Nearly every kill landed inside the step it was aimed at, and some inside each step with work to interrupt.
    const inside = landings.filter((landing) => landing.includes(' inside '));
    assert.ok(inside.length >= 20, `${inside.length} of ${landings.length} kills landed inside a step: ${landings.join(', ')}`);
    for (const step of ['install inside load', 'install inside stage', 'run inside stop', 'run inside start']) {
      assert.ok(landings.includes(step), `a kill landed ${step}: ${landings.join(', ')}`);
    }
  });
});

/** How long each named step took (from its start event to its done event). */
function stepDurations(cli: LiveCli): Map<string, number> {
  const durations = new Map<string, number>();
  const starts = new Map<string, number>();
  for (const { label, at } of cli.steps) {
    const [step, state] = stepOf(label);
    if (state === 'start') starts.set(step, at);
    else if (state === 'done' && starts.has(step)) durations.set(step, at - starts.get(step)!);
  }
  return durations;
}

/** "start faultapp done" → ["start faultapp", "done"]. */
function stepOf(label: string): [string, string] {
  const space = label.lastIndexOf(' ');
  return [label.slice(0, space), label.slice(space + 1)];
}
