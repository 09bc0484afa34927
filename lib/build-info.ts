import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What `--version` prints and `bundle.json` records: the package version and the git commit it was built from. */
export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
}

/**
 * Replaced by the bundler when it makes the self-contained binaries (scripts/package/bundle.ts): those carry no
 * package.json and no git checkout to ask.
 */
declare const FIOUP_OFFLINE_BUILD: BuildInfo | undefined;

let cached: BuildInfo | undefined;

/**
 * The binaries have their version and commit written in at build time. Run from the sources or from `dist/`, the
 * version is that of the package.json above the entry script and the commit that of its checkout, if it is one.
 */
export function buildInfo(): BuildInfo {
  if (typeof FIOUP_OFFLINE_BUILD !== 'undefined') return FIOUP_OFFLINE_BUILD;
  cached ??= fromPackageDirectory();
  return cached;
}

export function describeBuild(info: BuildInfo = buildInfo()): string {
  return `${info.version} (commit ${info.commit})`;
}

function fromPackageDirectory(): BuildInfo {
  const root = packageRoot();
  if (!root) return { version: 'unknown', commit: 'unknown' };
  return { version: root.version, commit: gitCommit(root.directory) };
}

function packageRoot(): { directory: string; version: string } | undefined {
  const entry = process.argv[1];
  if (!entry) return undefined;
  let directory = dirname(realpathSync(entry));
  for (;;) {
    try {
      const parsed = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'fioup-offline' && parsed.version) return { directory, version: parsed.version };
    } catch {
      // no package.json here, or not ours: look further up
    }
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

/** `<commit>`, or `<commit>-dirty` when the checkout has uncommitted changes; 'unknown' outside a checkout. */
export function gitCommit(directory: string): string {
  try {
    const git = (...args: string[]) => execFileSync('git', ['-C', directory, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') ? `${commit}-dirty` : commit;
  } catch {
    return 'unknown';
  }
}
