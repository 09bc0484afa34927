import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { targetEntry } from '../../fixtures/tuf/targets.js';
import { initialTarget, type DeviceState, type TargetRecord } from '../../lib/device/state.js';
import { ContentMissingError, DowngradeRefusedError, InstallationPendingError, NoMatchingTargetError, TargetNotFoundError } from '../../lib/errors.js';
import { exitCodeForError } from '../../lib/exit-codes.js';
import { appPresenceKey } from '../../lib/targets/medium-presence.js';
import { selectTargets, type SelectionDevice } from '../../lib/targets/selection.js';
import { catalogTargets } from '../../lib/targets/target.js';
import type { TargetFileEntry } from '../../lib/tuf/model.js';
import { planRootfsRollback, planUpdate, requireNoOtherPending, type PendingInstallation, type PlanInput } from '../../lib/update/plan.js';

const hardwareIds = ['intel-corei7-64'];
const commit = (version: number) => String(version).padStart(2, '0').repeat(32);
const uri = (app: string, version: number) => `hub.foundries.io/acme/${app}@sha256:${String(version).padStart(4, '0').repeat(16)}`;
const name = (version: number) => `intel-corei7-64-lmp-${version}`;

/** Targets 1..4: `web` at the target's version, `db` unchanged from 2 on, each with its own rootfs commit. */
function catalog() {
  const entries = new Map<string, TargetFileEntry>();
  for (const version of [1, 2, 3, 4]) {
    const apps = [{ name: 'web', uri: uri('web', version) }, ...(version >= 2 ? [{ name: 'db', uri: uri('db', 2) }] : [])];
    entries.set(name(version), targetEntry('acme', { hardwareIds, version, tags: ['main'], apps, sha256: commit(version) }) as TargetFileEntry);
  }
  return catalogTargets(entries, 'targets.json');
}

function record(version: number): TargetRecord {
  const apps = [{ name: 'web', uri: uri('web', version) }, ...(version >= 2 ? [{ name: 'db', uri: uri('db', 2) }] : [])];
  return { name: name(version), version, sha256: commit(version), apps: apps.sort((a, b) => a.name.localeCompare(b.name)) };
}

interface Scenario {
  readonly current?: number;
  readonly booted?: number;
  readonly requested?: number;
  readonly force?: boolean;
  readonly failed?: number[];
  readonly pending?: PendingInstallation;
  readonly onMedium?: { readonly apps?: boolean; readonly commits?: boolean };
  readonly stopped?: string[];
  /** Projects in compose_apps_root; default: the current target's apps. */
  readonly present?: string[];
  /** What the device runs when no current target is recorded. */
  readonly initial?: TargetRecord;
  readonly appsManaged?: boolean;
}

function input(scenario: Scenario): PlanInput {
  const targets = catalog();
  const current = scenario.current === undefined ? undefined : record(scenario.current);
  const device: SelectionDevice = {
    hardwareId: hardwareIds[0]!,
    tags: ['main'],
    ...(current ? { currentTarget: { name: current.name, version: current.version } } : {}),
    ...(scenario.booted === undefined ? {} : { ostree: { bootedCommit: commit(scenario.booted) } }),
  };
  const allApps = [...targets.valid.values()].flatMap((target) => target.apps);
  const presence = {
    apps: new Set(scenario.onMedium?.apps === false ? [] : allApps.map(appPresenceKey)),
    commits: new Set(scenario.onMedium?.commits === false ? [] : [1, 2, 3, 4].map(commit)),
  };
  const selection = selectTargets({ catalog: targets, bundleList: undefined }, device, presence, scenario.requested === undefined ? undefined : name(scenario.requested));
  const state: DeviceState = { current, pending: scenario.pending, failedTargets: (scenario.failed ?? []).map(name) };
  return {
    selection,
    state,
    current: current ?? scenario.initial,
    appsManaged: scenario.appsManaged ?? true,
    enabledApps: { kind: 'all' },
    presentApps: scenario.present ?? (current ?? scenario.initial)?.apps.map((app) => app.name) ?? [],
    bootedCommit: scenario.booted === undefined ? undefined : commit(scenario.booted),
    stoppedApps: new Set(scenario.stopped ?? []),
    request: { force: scenario.force ?? false, ...(scenario.requested === undefined ? {} : { requestedTarget: name(scenario.requested) }) },
  };
}

function refusal(scenario: Scenario, errorClass: new (...args: never[]) => Error, code: number, pattern: RegExp): void {
  assert.throws(() => planUpdate(input(scenario)), (error: unknown) =>
    error instanceof errorClass && exitCodeForError(error) === code && pattern.test((error as Error).message));
}

describe('the update plan', () => {
  test('an update on an OSTree device: the rootfs part, then one change per app', () => {
    const { kind, plan } = planUpdate(input({ current: 1, booted: 1 }));
    assert.equal(kind, 'install');
    assert.equal(plan.target.name, name(4));
    assert.deepEqual(plan.previous, record(1));
    assert.deepEqual(plan.parts, [
      { kind: 'rootfs', commit: commit(4), previousCommit: commit(1) },
      {
        kind: 'apps',
        changes: [
          { name: 'db', kind: 'new', from: undefined, to: { name: 'db', uri: uri('db', 2) } },
          { name: 'web', kind: 'updated', from: { name: 'web', uri: uri('web', 1) }, to: { name: 'web', uri: uri('web', 4) } },
        ],
      },
    ]);
  });

  test('a container-only device, or a target whose commit is the booted one, has no rootfs part', () => {
    assert.deepEqual(planUpdate(input({ current: 3 })).plan.parts.map((part) => part.kind), ['apps']);
    assert.deepEqual(planUpdate(input({ current: 3, booted: 4 })).plan.parts.map((part) => part.kind), ['apps']);
  });

  test('the current target with its apps running is up to date; a stopped app makes it an install of that app', () => {
    assert.equal(planUpdate(input({ current: 4, booted: 4 })).kind, 'up-to-date');
    const { kind, plan } = planUpdate(input({ current: 4, booted: 4, stopped: ['db'] }));
    assert.equal(kind, 'install');
    assert.deepEqual(plan.parts.flatMap((part) => (part.kind === 'apps' ? part.changes.map((change) => `${change.name} ${change.kind}`) : [])), ['db updated', 'web unchanged']);
  });

  test('a downgrade, and a target that failed before, are refused (102) unless forced', () => {
    refusal({ current: 4, requested: 2 }, DowngradeRefusedError, 102, /older than the current .*--force/);
    refusal({ current: 2, failed: [4] }, DowngradeRefusedError, 102, /failed to start before/);
    assert.equal(planUpdate(input({ current: 4, requested: 2, force: true })).plan.target.name, name(2));
    assert.equal(planUpdate(input({ current: 2, failed: [4], force: true })).plan.target.name, name(4));
  });

  test('content missing from the medium (8) and no target for the device (6)', () => {
    refusal({ current: 1, onMedium: { apps: false } }, ContentMissingError, 8, /apps (db, )?web/);
    refusal({ current: 1, booted: 5, onMedium: { commits: false } }, ContentMissingError, 8, /rootfs commit/);
    refusal({ current: 1, booted: 1, requested: 4, onMedium: { commits: false } }, TargetNotFoundError, 20, /cannot be installed from this medium .*rootfs commit/);
    assert.equal(planUpdate(input({ current: 1, booted: 1, onMedium: { commits: false } })).kind, 'up-to-date', 'without --target, the newest complete target: the booted one');
    assert.equal(planUpdate(input({ current: 1, onMedium: { commits: false } })).kind, 'install', 'a container-only device needs no commit');
    const selection = selectTargets({ catalog: catalog(), bundleList: undefined }, { hardwareId: 'raspberrypi4-64', tags: [] }, { apps: new Set(), commits: new Set() });
    assert.throws(() => planUpdate({ ...input({}), selection }), (error: unknown) => error instanceof NoMatchingTargetError && exitCodeForError(error) === 6);
  });

  test('a staged installation is resumed with its own changes; another target is refused while one is pending (30)', () => {
    const staged = planUpdate(input({ current: 1, booted: 1, requested: 3 })).plan;
    const pending: PendingInstallation = { ...staged, phase: 'staged', installedAt: '2026-01-01T00:00:00.000Z' };
    const resumed = planUpdate(input({ current: 1, booted: 1, requested: 3, pending }));
    assert.deepEqual(resumed.plan, staged);
    refusal({ current: 1, booted: 1, pending }, InstallationPendingError, 30, new RegExp(`${name(3)} is installed and waits`));
    assert.throws(() => requireNoOtherPending(input({ pending: { ...pending, phase: 'switching' } }).state, { force: false, requestedTarget: name(3) }), InstallationPendingError);
    assert.throws(() => requireNoOtherPending(input({ pending }).state, { force: false, requestedTarget: name(4) }), InstallationPendingError);
    requireNoOtherPending(input({ pending }).state, { force: false, requestedTarget: name(3) });
  });

  test('the rollback of a rootfs update boots the previous commit again with the previous apps unchanged', () => {
    const { plan } = planUpdate(input({ current: 2, booted: 2 }));
    assert.deepEqual(planRootfsRollback(plan), {
      target: record(2),
      previous: record(2),
      parts: [
        { kind: 'rootfs', commit: commit(2), previousCommit: commit(4) },
        { kind: 'apps', changes: record(2).apps.map((app) => ({ name: app.name, kind: 'unchanged', from: app, to: app })) },
      ],
    });
    assert.equal(planRootfsRollback(planUpdate(input({ booted: 2 })).plan), undefined, 'no previous target to return to');
    assert.equal(planRootfsRollback(planUpdate(input({ current: 2 })).plan), undefined, 'no rootfs part');
  });

  test('from the initial target: its preloaded apps are replaced, and a rollback returns to it, apps and all', () => {
    const initial = initialTarget(commit(1), ['legacy', 'web']);
    const { plan } = planUpdate(input({ booted: 1, initial }));
    assert.deepEqual(plan.previous, initial);
    const changes = plan.parts.flatMap((part) => (part.kind === 'apps' ? part.changes.map((change) => `${change.name} ${change.kind}`) : []));
    assert.deepEqual(changes, ['db new', 'legacy removed', 'web updated']);
    const rollback = planRootfsRollback(plan);
    assert.equal(rollback?.target.name, 'Initial Target');
    assert.deepEqual(rollback?.parts, [
      { kind: 'rootfs', commit: commit(1), previousCommit: commit(4) },
      { kind: 'apps', changes: initial.apps.map((app) => ({ name: app.name, kind: 'unchanged', from: app, to: app })) },
    ]);
  });

  test('projects no target put in compose_apps_root are stray: removed by the update, and the current target is not up to date while they stay', () => {
    const { kind, plan } = planUpdate(input({ current: 4, booted: 4, present: ['db', 'left-by-aklite', 'web'] }));
    assert.equal(kind, 'install');
    assert.deepEqual(plan.parts, [{
      kind: 'apps',
      changes: [
        { name: 'db', kind: 'unchanged', from: { name: 'db', uri: uri('db', 2) }, to: { name: 'db', uri: uri('db', 2) } },
        { name: 'left-by-aklite', kind: 'stray', from: { name: 'left-by-aklite', uri: '' }, to: undefined },
        { name: 'web', kind: 'unchanged', from: { name: 'web', uri: uri('web', 4) }, to: { name: 'web', uri: uri('web', 4) } },
      ],
    }]);
  });

  test('[pacman] type = "ostree": the apps are left alone, running or stray, and the target records none', () => {
    const { plan } = planUpdate(input({ current: 1, booted: 1, appsManaged: false, present: ['web', 'other'] }));
    assert.deepEqual(plan.parts, [{ kind: 'rootfs', commit: commit(4), previousCommit: commit(1) }]);
    assert.deepEqual(plan.target.apps, []);
  });

  test('the target record carries what current-target and `current` show', () => {
    const { plan } = planUpdate(input({ current: 1, booted: 1 }));
    assert.deepEqual(plan.target.tags, ['main']);
    assert.match(plan.target.lmpManifestSha ?? '', /^[0-9a-f]{40}$/);
    assert.match(plan.target.metaSubscriberOverridesSha ?? '', /^[0-9a-f]{40}$/);
    assert.match(plan.target.containersSha ?? '', /^[0-9a-f]{40}$/);
  });
});
