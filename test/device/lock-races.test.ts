import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { acquireDeviceLock } from '../../lib/device/lock.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { repoRoot } from '../helpers/cli.js';
import { createTestDevice, flockFree, removeTree } from '../helpers/device.js';

/**
 * The two races of issue 17, item 2, against the flock(2) locks: a lock file left by a power cut whose pid belongs to
 * another live process after the reboot (it must not block), and two processes holding the lock at once (the take-over
 * of a stale lock, a briefly empty lock file): never, at library level and through the CLI, over many rounds.
 */

/** What a lock file may hold when nobody holds the lock: each round starts from one of these. */
type Leftover = 'pid of a live process' | 'pid of a dead process' | 'empty' | 'absent' | 'garbage';
const LEFTOVERS: readonly Leftover[] = ['pid of a live process', 'pid of a dead process', 'empty', 'absent', 'garbage'];

let work: string;
let bystander: ChildProcess;
let deadPid: number;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fioup-lock-races-'));
  // After a reboot the pid in the file is someone else's: here a live process that has nothing to do with us.
  bystander = spawn('sleep', ['3600'], { stdio: 'ignore' });
  const dead = spawn('true');
  await once(dead, 'close');
  deadPid = dead.pid!;
});
after(async () => {
  bystander.kill('SIGKILL');
  await rm(work, { recursive: true, force: true });
});

async function leave(path: string, leftover: Leftover): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  if (leftover === 'absent') return rm(path, { force: true });
  const content = { 'pid of a live process': `${bystander.pid}\n`, 'pid of a dead process': `${deadPid}\n`, 'empty': '', 'garbage': 'x\u0000\n' }[leftover];
  await writeFile(path, content);
}

class Contender {
  private readonly lines: AsyncIterator<string>;
  private constructor(readonly child: ChildProcess, reader: Interface) {
    this.lines = reader[Symbol.asyncIterator]();
  }

  static start(device: string, aktualizrLite: string): Contender {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/helpers/lock-contender.ts'), device, aktualizrLite], { stdio: ['pipe', 'pipe', 'inherit'] });
    return new Contender(child, createInterface({ input: child.stdout! }));
  }

  async ask(command: 'try' | 'release'): Promise<string> {
    this.child.stdin!.write(`${command}\n`);
    const { value, done } = await this.lines.next();
    assert.ok(!done, 'the contender ended');
    return value;
  }

  async stop(): Promise<void> {
    const closed = once(this.child, 'close');
    this.child.stdin!.end();
    await closed;
  }
}

describe('the device lock races, library level', () => {
  test('a lock file holding the pid of a live process, a dead one, nothing or garbage never blocks', async () => {
    const path = join(work, 'single', 'lock');
    for (const leftover of LEFTOVERS) {
      await leave(path, leftover);
      const held = await acquireDeviceLock(path);
      assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid), leftover);
      assert.equal(await flockFree(path), false, leftover);
      held.release();
      assert.equal(await flockFree(path), true, leftover);
    }
  });

  test('60 rounds of 6 processes: exactly one holds the locks, and at the take-over at most one more', async () => {
    const paths = { device: join(work, 'race', 'fioup-offline', 'lock'), aktualizrLite: join(work, 'race', 'aklite.lock') };
    await mkdir(join(paths.device, '..'), { recursive: true });
    const contenders = Array.from({ length: 6 }, () => Contender.start(paths.device, paths.aktualizrLite));
    let takeOvers = 0;
    try {
      for (let round = 0; round < 60; round++) {
        await leave(paths.device, LEFTOVERS[round % LEFTOVERS.length]!);
        const answers = await Promise.all(contenders.map((contender) => contender.ask('try')));
        const winners = contenders.filter((_, index) => answers[index] === 'won');
        assert.equal(winners.length, 1, `round ${round}: ${answers.join(' | ')}`);
        for (const answer of answers.filter((answer) => answer !== 'won')) assert.match(answer, /^refused another fioup-offline (\(pid \d+\) )?is working on this device/);
        const [winner] = winners;
        assert.equal((await readFile(paths.device, 'utf8')).trim(), String(winner!.child.pid), `round ${round}: the file names the holder`);
        assert.deepEqual([await flockFree(paths.device), await flockFree(paths.aktualizrLite)], [false, false]);
        // The take-over: the holder lets go while all the others try at that very moment.
        const others = contenders.filter((contender) => contender !== winner);
        const [released, ...retries] = await Promise.all([winner!.ask('release'), ...others.map((contender) => contender.ask('try'))]);
        assert.equal(released, 'released');
        const next = others.filter((_, index) => retries[index] === 'won');
        assert.ok(next.length <= 1, `round ${round}: ${next.length} processes took the lock over at once`);
        takeOvers += next.length;
        for (const contender of next) assert.equal(await contender.ask('release'), 'released');
        assert.deepEqual([await flockFree(paths.device), await flockFree(paths.aktualizrLite)], [true, true], `round ${round}: all released`);
      }
    } finally {
      await Promise.all(contenders.map((contender) => contender.stop()));
    }
    assert.ok(takeOvers > 0, 'a released lock was taken over while the others were trying');
  });
});

describe('the device lock races, through the CLI', () => {
  let factory: FactoryBuild;

  before(async () => {
    factory = await buildFactory(join(work, 'factory'), scenarios.basic({
      seed: 'lock-races',
      targets: [{ hardwareIds: ['amd64-linux'], version: 1, apps: [sampleApps.tiny('lockrace', 1)] }],
    }));
  });

  test('15 rounds of 3 installs at once, from a lock file a power cut left: one at a time gets through, none is blocked by the leftover', async () => {
    const device = await createTestDevice(factory);
    const log = join(device.root, 'callbacks.log');
    const program = join(device.root, 'callback.sh');
    // Inside the lock: a callback that takes its time, so that a second holder would show as two begins in a row.
    await writeFile(program, `#!/bin/sh\necho "begin $MESSAGE" >> ${log}\nsleep 0.1\necho "end $MESSAGE" >> ${log}\n`);
    await chmod(program, 0o755);
    // Another hardware id: each install stops after its check-in (6), inside the locks, before any Docker work.
    await device.configure('50-race.toml', `[provision]\nprimary_ecu_hardware_id = "other-board"\n[pacman]\ncallback_program = ${program}\n`);
    const lock = join(device.storage, 'fioup-offline', 'lock');
    let refusals = 0;
    try {
      for (let round = 0; round < 15; round++) {
        await leave(lock, LEFTOVERS[round % LEFTOVERS.length]!);
        await rm(log, { force: true });
        const results = await Promise.all([1, 2, 3].map(() => device.cli(['install', '--src-dir', factory.dirs.medium])));
        const through = results.filter((result) => result.code === ExitCode.noMatchingTarget);
        const refused = results.filter((result) => result.code === ExitCode.other);
        assert.equal(through.length + refused.length, 3, results.map((result) => `${result.code}: ${result.stderr}`).join('\n'));
        assert.ok(through.length >= 1, `round ${round}: the leftover lock file blocked every install`);
        for (const result of refused) assert.match(result.stderr, /another fioup-offline (\(pid \d+\) )?is working on this device; wait for it to finish/);
        refusals += refused.length;
        const lines = (await readFile(log, 'utf8')).trim().split('\n');
        assert.equal(lines.length, 4 * through.length, lines.join('\n'));
        lines.forEach((line, index) => assert.match(line, index % 2 === 0 ? /^begin / : /^end /, `round ${round}: two installs inside the lock at once:\n${lines.join('\n')}`));
        assert.equal(await flockFree(lock), true);
      }
    } finally {
      await removeTree(device.root);
    }
    assert.ok(refusals > 0, 'the installs did contend for the lock');
  });
});
