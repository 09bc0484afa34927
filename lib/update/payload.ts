import type { DeviceEnvironment } from '../device/environment.js';
import type { Medium } from '../medium/medium.js';
import type { SpaceNeed } from './free-space.js';
import type { PendingInstallation, PlanPart, UpdatePlan } from './plan.js';
import type { Step } from './steps.js';

/**
 * The contract between the pipelines and the payloads an update carries. A handler knows how to carry out one kind
 * of plan part (the Compose Apps, the OSTree rootfs); the install and run pipelines loop over the parts of the plan,
 * and they alone write the device state and fire callbacks: handlers change the payload's own world (Docker, the
 * sysroot, the compose projects) and report facts back. Every method can be run again after a crash.
 */
export interface PayloadHandler<P extends PlanPart = PlanPart> {
  readonly kind: P['kind'];
  /** What the device must do between `install` and `run` for this payload to take effect. */
  readonly needs: 'run' | 'reboot';
  readonly stepNames: PartStepNames;
  install(part: P, context: InstallContext): PartInstall;
  run(part: P, context: RunContext): PartRun;
}

/** The names of a payload's steps: the crash-safety contract (see steps.ts). */
export interface PartStepNames {
  readonly fetch: string;
  readonly stage: string;
  /** Staging that changes what the device boots next comes after the installation is recorded. */
  readonly stageAfterCommit: boolean;
  readonly switch: readonly string[];
}

export interface InstallContext {
  readonly env: DeviceEnvironment;
  readonly medium: Medium;
  readonly plan: UpdatePlan;
}

/** One part's side of one `install`; it keeps what it learnt (verified trees) from one step to the next. */
export interface PartInstall {
  /** Checks the part's content on the medium; nothing on the device changes. */
  verify(): Promise<void>;
  /** What fetching and staging will write, for the free-space check that precedes them. */
  spaceNeeded(): Promise<SpaceNeed[]>;
  /** Copies the payload to where the device keeps it, unused yet: images into Docker, the commit into the sysroot repo. */
  fetch(): Promise<FetchReport>;
  /** Prepares the switch: compose projects into the staging area, or the deployment that boots next. */
  stage(): Promise<void>;
  /** Undoes `fetch` after an install that failed before it was recorded. */
  forget(): Promise<void>;
}

export interface FetchReport {
  /** Ids of the images this fetch loaded into Docker (images Docker already had are not counted). */
  readonly loadedImages: readonly string[];
}

export interface RunContext {
  readonly env: DeviceEnvironment;
  readonly pending: PendingInstallation;
}

/** Where a staged part stands when `run` starts. */
export type ActivationState = 'ready' | 'awaiting-reboot' | 'fell-back';

export interface RollbackOptions {
  /** Whether the switch to the new payload had begun (else the previous one is still in place). */
  readonly switched: boolean;
  /** The device reboots into the previous rootfs before the previous apps start again. */
  readonly rebootFollows: boolean;
}

/** One part's side of one `run`. */
export interface PartRun {
  activationState(): Promise<ActivationState>;
  /** The named steps that switch to the new payload; a FioupError from one starts the rollback. */
  readonly switchSteps: readonly Step[];
  rollBack(options: RollbackOptions): Promise<void>;
  /** After the target became current: removes what only the previous payload used. */
  finish(): Promise<void>;
  /** After the installation was closed as failed: removes what was staged for it. */
  forget(): Promise<void>;
}
