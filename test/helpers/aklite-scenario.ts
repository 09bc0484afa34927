import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppSpec } from '../../fixtures/apps/index.js';
import type { FactoryBuild, FactoryTargetSpec } from '../../fixtures/factory.js';
import { runTool } from '../../fixtures/oci/tools.js';
import type { FetchedAppsField } from '../../fixtures/tuf/targets.js';
import { removeDevice } from '../rootfs/helpers.js';
import { bootloaderEnv, type BootloaderEnv } from './bootloader-env.js';
import { lastJsonDocument, type CliResult } from './cli.js';
import { projectContainers, removeComposeProjects } from './device.js';
import { copyMedium, ostreeTestDevice, removeAppFromMedium, type OstreeTestDevice } from './lmp-device.js';

/**
 * The scenarios of aktualizr-lite's tests/aklite_offline_test.cc, on this project's parts: each scenario's targets
 * live under a hardware id of their own in one factory (one medium, one TUF repository), and each scenario's device
 * is an LmP device (a real sysroot) of that hardware id, running the real CLI against the real dockerd.
 */

export interface ScenarioTargetSpec {
  readonly version: number;
  readonly apps: AppSpec[];
  readonly fetchedApps?: FetchedAppsField;
  readonly bootFirmwareVersion?: string;
}

/** The factory targets of one scenario, under its hardware id. */
export function scenarioTargets(hardwareId: string, targets: readonly ScenarioTargetSpec[]): FactoryTargetSpec[] {
  return targets.map((target) => ({ hardwareIds: [hardwareId], ...target }));
}

export interface ScenarioOptions {
  /** The commit the device boots first; default the factory image's rootfs, which no target of the scenario has. */
  readonly bootedCommit: string;
  /** The repo that holds it; default the factory's ostree_repo. */
  readonly repo?: string;
  /** Config snippets of the scenario's own (`[pacman] compose_apps`...). */
  readonly toml?: string;
  /**
   * The variables of a fiovb bootloader, as aklite_offline_test.cc's fixture configures every scenario
   * (`rollback_mode = fiovb`): kept on the real fw_setenv's environment file, `fiovb_setenv` emulated over it.
   */
  readonly fiovb?: Readonly<Record<string, string>>;
}

export class Scenario {
  private constructor(
    readonly factory: FactoryBuild,
    readonly hardwareId: string,
    readonly lmp: OstreeTestDevice,
    /** The medium the scenario installs from: the factory's, or a damaged copy of it. */
    public medium: string,
  ) {}

  /** The environment every command of the scenario runs with (a PATH with the bootloader's tools...). */
  env: NodeJS.ProcessEnv | undefined;
  /** The bootloader's variables, when the scenario has a fiovb bootloader. */
  bootloader: BootloaderEnv | undefined;

  static async start(factory: FactoryBuild, hardwareId: string, options: ScenarioOptions): Promise<Scenario> {
    const toml = [
      `[provision]\nprimary_ecu_hardware_id = "${hardwareId}"\n`,
      options.fiovb ? '[bootloader]\nrollback_mode = "fiovb"\n' : '',
      options.toml ?? '',
    ].join('\n');
    const lmp = await ostreeTestDevice(factory, options.bootedCommit, { toml, ...(options.repo ? { repo: options.repo } : {}) });
    const scenario = new Scenario(factory, hardwareId, lmp, factory.dirs.medium);
    if (options.fiovb) {
      scenario.bootloader = await bootloaderEnv(join(lmp.device.root, 'bootloader'), options.fiovb);
      scenario.env = { PATH: scenario.bootloader.path };
    }
    return scenario;
  }

  get device() {
    return this.lmp.device;
  }

  target(version: number): string {
    return `${this.hardwareId}-lmp-${version}`;
  }

  commit(version: number): string {
    const commit = this.described(version).ostreeCommit;
    assert.ok(commit, `${this.target(version)} has no rootfs on the medium`);
    return commit;
  }

  cli(args: string[], env = this.env): Promise<CliResult> {
    return this.device.cli(args, env);
  }

  check(args: string[] = []): Promise<CliResult> {
    return this.cli(['check', '--src-dir', this.medium, ...args]);
  }

  install(args: string[] = []): Promise<CliResult> {
    return this.cli(['install', '--src-dir', this.medium, ...args]);
  }

  run(): Promise<CliResult> {
    return this.cli(['run']);
  }

  /** From here on the scenario installs from a copy of the factory's medium, in `workdir`, to damage: its path. */
  async useMediumCopy(workdir: string): Promise<string> {
    this.medium = await copyMedium(this.factory.dirs.medium, join(await mkdtemp(join(workdir, `medium-${this.hardwareId}-`)), 'medium'));
    return this.medium;
  }

  /** The same, without these apps. */
  async useMediumWithout(workdir: string, apps: readonly string[]): Promise<void> {
    await this.useMediumCopy(workdir);
    for (const app of apps) await removeAppFromMedium(this.medium, app);
  }

  /** aklite_offline_test.cc's usual sequence: check 16, install 100, reboot into the target's rootfs, run 0; then it is current. */
  async updateWithReboot(version: number): Promise<void> {
    const check = await this.check();
    assert.equal(check.code, 16, check.stderr);
    const install = await this.install();
    assert.equal(install.code, 100, install.stderr);
    await this.reboot(version);
    const run = await this.run();
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await this.current()).name, this.target(version));
  }

  /** What `current --json` says. */
  async current(): Promise<{ name: string; version?: number; ostreeHash: string; initial: boolean; apps: { name: string; on: boolean }[] }> {
    const result = await this.cli(['current', '--json']);
    assert.equal(result.code, 0, result.stderr);
    return lastJsonDocument(result.stdout);
  }

  /** The device reboots and boots the deployment of `version`'s commit (or of `commit`). */
  async reboot(version: number | { commit: string }): Promise<void> {
    await this.lmp.sysroot.bootInto(typeof version === 'number' ? this.commit(version) : version.commit);
  }

  /**
   * The bootloader gave up on the new deployment and booted the previous one, as the scenarios' `sys_repo_.deploy(initial)`
   * emulates it: the new deployment goes, the device runs `commit` again.
   */
  async bootloaderFallsBackTo(commit: string): Promise<void> {
    await runTool('ostree', ['admin', 'undeploy', `--sysroot=${this.lmp.sysroot.config.sysroot}`, '0']);
    await this.lmp.sysroot.bootInto(commit);
  }

  /**
   * Preloading, as the scenarios' preloadApps: the target of `version` (the booted commit, with the apps to preload)
   * installed and run; `forget` then removes what the device recorded (aktualizr-lite's sql.db in the original), so that
   * the preloaded target is the device's unknown initial one.
   */
  async preload(version: number, options: { forget: boolean }): Promise<void> {
    const install = await this.install(['--target', this.target(version)]);
    assert.equal(install.code, 101, install.stderr);
    const run = await this.run();
    assert.equal(run.code, 0, run.stderr);
    if (options.forget) await rm(this.device.storage, { recursive: true, force: true });
  }

  /**
   * aklite_offline_test.cc's areAppsInSync, and more: exactly the named apps of target `version` run (every container
   * running, on the images the medium carries for them), and no other app of the scenario has a container.
   */
  async assertAppsRun(version: number, names: readonly string[]): Promise<void> {
    const target = this.described(version);
    for (const name of this.appNames()) {
      const containers = [...(await projectContainers(name)).values()];
      if (!names.includes(name)) {
        assert.deepEqual(containers, [], `${name} must not run`);
        continue;
      }
      const uri = target.apps.find((app) => app.name === name)?.uri;
      const written = this.factory.apps.find((app) => app.uri === uri);
      assert.ok(written, `${this.target(version)} has no app ${name}`);
      assert.ok(containers.length > 0 && containers.every((container) => container.state === 'running'), `${name} runs`);
      assert.deepEqual(
        containers.map((container) => container.imageId).sort(),
        written.images.map((image) => image.platforms.amd64!.configDigest).sort(),
        `${name} runs ${this.target(version)}'s images`,
      );
    }
  }

  /** Every app any target of the scenario has. */
  appNames(): string[] {
    return [...new Set(this.factory.targets.filter((target) => target.hardwareIds[0] === this.hardwareId).flatMap((target) => target.apps.map((app) => app.name)))];
  }

  async cleanUp(): Promise<void> {
    await removeComposeProjects(this.appNames());
    for (const root of this.lmp.roots) await removeDevice(root);
  }

  private described(version: number) {
    const target = this.factory.targets.find((candidate) => candidate.name === this.target(version));
    assert.ok(target, `no target ${this.target(version)}`);
    return target;
  }
}
