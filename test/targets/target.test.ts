import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidMetadataError, UnsafePathError } from '../../lib/errors.js';
import { exitCodeForError, ExitCode } from '../../lib/exit-codes.js';
import type { Medium } from '../../lib/medium/medium.js';
import { parseAppUri } from '../../lib/targets/app-uri.js';
import { requiredApps, selectTargets } from '../../lib/targets/selection.js';
import { catalogTargets, parseTarget } from '../../lib/targets/target.js';
import type { TargetFileEntry } from '../../lib/tuf/model.js';
import { collectMediumPresence } from '../../lib/update/inspect-medium.js';
import { targetEntry } from '../../fixtures/tuf/targets.js';

const digest = 'c0ffee'.padEnd(64, '0');
const appUri = (name: string) => `hub.foundries.io/acme/${name}@sha256:${digest}`;

function entry(apps: { name: string; uri: string }[], hardwareId = 'amd64-linux', version = 7): TargetFileEntry {
  return targetEntry('acme', { hardwareIds: [hardwareId], version, tags: ['main'], apps, sha256: 'ab'.repeat(32) }) as TargetFileEntry;
}

function invalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof InvalidMetadataError && exitCodeForError(error) === ExitCode.invalidMetadata && pattern.test(error.message));
}

describe('app URIs', () => {
  test('a well-formed URI gives host, repository, name and digest', () => {
    assert.deepEqual(parseAppUri(`registry.local:5000/acme/sub/web-app@sha256:${digest}`, 'x'), {
      uri: `registry.local:5000/acme/sub/web-app@sha256:${digest}`, host: 'registry.local:5000', repository: 'acme/sub/web-app', name: 'web-app', manifestHex: digest,
    });
  });

  test('URIs crafted to look like paths, or without a digest, are refused', () => {
    for (const uri of [
      `hub.foundries.io/acme/../../etc@sha256:${digest}`,
      `hub.foundries.io/acme/..@sha256:${digest}`,
      `/etc/passwd@sha256:${digest}`,
      `hub.foundries.io/acme/app`,
      `hub.foundries.io/acme/app:latest`,
      `hub.foundries.io/acme/app@sha256:${digest.slice(1)}`,
      `hub.foundries.io/acme/app@sha256:${digest}/../x`,
      `hub.foundries.io/acme/a\\b@sha256:${digest}`,
      42,
    ]) {
      invalid(() => parseAppUri(uri, 'targets.json: target "t"'), /targets\.json: target "t": app URI .* is not <host>\/<path>\/<name>@sha256:<64 hex>/);
    }
  });
});

describe('target custom fields', () => {
  test('a target is parsed into its typed model', () => {
    const target = parseTarget('amd64-linux-lmp-7', entry([{ name: 'web', uri: appUri('web') }]), 'targets.json');
    assert.equal(target.version, 7);
    assert.deepEqual(target.hardwareIds, ['amd64-linux']);
    assert.deepEqual(target.apps.map((app) => [app.name, app.manifestHex]), [['web', digest]]);
    assert.deepEqual(target.shortlist, ['web']);
  });

  test('an app whose name is a path, or whose URI names another app, makes the target invalid', () => {
    assert.throws(
      () => parseTarget('t', entry([{ name: '../web', uri: appUri('web') }]), 'targets.json'),
      (error: unknown) => error instanceof UnsafePathError && exitCodeForError(error) === ExitCode.security && /app "\.\.\/web"/.test(error.message),
    );
    invalid(() => parseTarget('t', entry([{ name: 'web', uri: appUri('db') }]), 'targets.json'), /for another app/);
    const bad = entry([]);
    invalid(() => parseTarget('t', { ...bad, custom: { ...(bad.custom as object), version: '7.1' } }, 'targets.json'), /custom\.version "7\.1"/);
  });

  test('an invalid target is set aside without hiding the valid ones', () => {
    const catalog = catalogTargets(new Map([['good', entry([])], ['bad', { ...entry([]), custom: 'nope' }]]), 'targets.json');
    assert.deepEqual([...catalog.valid.keys()], ['good']);
    assert.match(catalog.invalid.get('bad')!.problem, /has no custom object/);
  });

  test('compose_apps and the shortlist narrow the required apps', () => {
    const apps = ['a', 'b', 'c'].map((name) => ({ name, uri: appUri(name) }));
    const base = entry(apps);
    const custom = base.custom as { 'fetched-apps': { shortlist: string } };
    const target = parseTarget('t', { ...base, custom: { ...custom, 'fetched-apps': { ...custom['fetched-apps'], shortlist: 'a, b' } } }, 'targets.json');
    assert.deepEqual(requiredApps(target).map((app) => app.name), ['a', 'b']);
    assert.deepEqual(requiredApps(target, { kind: 'listed', names: ['b', 'c'] }).map((app) => app.name), ['b']);
    assert.deepEqual(requiredApps(target, { kind: 'none' }), []);
  });

  test('fetched-apps with a null or empty uri: no app was fetched, the target needs none (docs/formats.md section 11)', () => {
    const apps = ['a', 'b'].map((name) => ({ name, uri: appUri(name) }));
    const base = entry(apps);
    const custom = base.custom as Record<string, unknown>;
    const withFetched = (fetched: unknown) => parseTarget('t', { ...base, custom: { ...custom, 'fetched-apps': fetched } }, 'targets.json');
    assert.deepEqual(requiredApps(withFetched({ uri: null, shortlist: 'a,b' })), []);
    assert.deepEqual(requiredApps(withFetched({ uri: '', shortlist: '' })), []);
    assert.deepEqual(requiredApps(withFetched({ uri: 'https://api.foundries.io/apps.tar', shortlist: 'b' })).map((app) => app.name), ['b']);
    assert.deepEqual(requiredApps(withFetched(null)).map((app) => app.name), ['a', 'b'], 'a null fetched-apps is none at all');
    const { 'fetched-apps': _fetched, ...withoutFetched } = custom;
    assert.deepEqual(requiredApps(parseTarget('t', { ...base, custom: withoutFetched }, 'targets.json')).map((app) => app.name), ['a', 'b']);
  });

  test('a target name crafted like a path is only a label: no medium path is built from it', async () => {
    const name = '../../../../tmp/evil';
    const catalog = catalogTargets(new Map([[name, entry([{ name: 'web', uri: appUri('web') }])]]), 'targets.json');
    const target = catalog.valid.get(name)!;
    const asked: string[] = [];
    const medium: Medium = {
      description: 'recording medium',
      localRoot: undefined,
      stat: async (path) => (asked.push(path), undefined),
      list: async () => [],
      readFile: async () => assert.fail('nothing is read'),
      open: async () => assert.fail('nothing is opened'),
      close: async () => {},
    };
    const presence = await collectMediumPresence(medium, target.apps, [target.sha256!]);
    assert.deepEqual(asked, [`apps/apps/web/${digest}/uri`, `ostree_repo/objects/ab/${'ab'.repeat(31)}.commit`]);
    const selection = selectTargets({ catalog, bundleList: [name] }, { hardwareId: 'amd64-linux', tags: ['main'], ostree: { bootedCommit: '00'.repeat(32) } }, presence);
    assert.equal(selection.selected?.name, name);
    assert.deepEqual(selection.selected?.reasons, ['apps-missing', 'rootfs-missing']);
  });
});
