import type { AppChange, AppChangeKind, AppRecord } from '../device/state.js';

export type { AppChange, AppChangeKind } from '../device/state.js';

export interface AppPlan {
  readonly changes: readonly AppChange[];
}

/**
 * What happens to each app when moving from the apps running now to the target's: `targetApps` are every app of
 * the target, `enabled` those this device runs (config `compose_apps`). An app whose URI changed is updated; an
 * app the target drops is removed; an app the config no longer enables is disabled.
 */
export function planAppChanges(running: readonly AppRecord[], targetApps: readonly AppRecord[], enabled: readonly AppRecord[]): AppPlan {
  const before = new Map(running.map((app) => [app.name, app]));
  const inTarget = new Set(targetApps.map((app) => app.name));
  const changes: AppChange[] = [];
  for (const app of enabled) {
    const from = before.get(app.name);
    const kind: AppChangeKind = !from ? 'new' : from.uri === app.uri ? 'unchanged' : 'updated';
    changes.push({ name: app.name, kind, from, to: app });
  }
  const enabledNames = new Set(enabled.map((app) => app.name));
  for (const app of running) {
    if (enabledNames.has(app.name)) continue;
    changes.push({ name: app.name, kind: inTarget.has(app.name) ? 'disabled' : 'removed', from: app, to: undefined });
  }
  return { changes: changes.sort((a, b) => a.name.localeCompare(b.name)) };
}

export function appsToInstall(plan: AppPlan): AppRecord[] {
  return plan.changes.flatMap((change) => (change.kind === 'new' || change.kind === 'updated' ? [change.to!] : []));
}

export function appsToStop(plan: AppPlan): AppChange[] {
  return plan.changes.filter((change) => change.kind === 'updated' || change.kind === 'removed' || change.kind === 'disabled');
}
