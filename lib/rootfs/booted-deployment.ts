import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Deployment } from './deployments.js';

/** The value of the kernel command line's `ostree=` argument, or undefined when there is none. */
export function ostreeArgument(cmdline: string): string | undefined {
  const argument = cmdline.split(/\s+/).find((word) => word.startsWith('ostree='));
  return argument?.slice('ostree='.length);
}

/** Reads the kernel command line file; undefined when it does not exist. */
export async function readKernelCmdline(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const bootLink = /^\/ostree\/boot\.([01])\/([^/]+)\/([0-9a-f]+)\/(\d+)$/;
const deploymentDirectory = /^([0-9a-f]{64})\.(\d+)$/;
const deploymentPath = /^ostree\/deploy\/([^/]+)\/deploy\/([0-9a-f]{64})\.(\d+)$/;

/**
 * The deployment the device booted. The kernel command line must name one (`ostree=`). As libostree does, the
 * deployment whose directory is the running root `/` (a bind mount of it) wins. Otherwise (a sysroot that is not
 * the running system, as in tests) `ostree=/ostree/boot.N/<os>/<bootcsum>/<serial>` is resolved in the sysroot to
 * `ostree/deploy/<os>/deploy/<commit>.<serial>`. A deploy since the boot swaps boot.N for the other boot version,
 * so the link is looked up under both: exact as long as the deployments have different kernels.
 */
export async function bootedDeployment(sysroot: string, cmdlinePath: string, runningRoot = '/'): Promise<Deployment> {
  const cmdline = await readKernelCmdline(cmdlinePath);
  if (cmdline === undefined) throw new ConfigError(`cannot find the booted OSTree deployment: ${cmdlinePath} does not exist ([offline] kernel_cmdline)`);
  const argument = ostreeArgument(cmdline);
  const link = argument === undefined ? undefined : bootLink.exec(argument);
  if (!link) {
    throw new ConfigError(`cannot find the booted OSTree deployment: the kernel command line in ${cmdlinePath} has no ostree=/ostree/boot.N/<os>/<bootcsum>/<serial> argument`);
  }
  const root = await realpath(sysroot).catch((error: Error) => {
    throw new ConfigError(`the OSTree sysroot ${sysroot} ([pacman] sysroot) cannot be read: ${error.message}`);
  });
  const [, bootVersion, os, bootcsum, serial] = link;
  return (await deploymentMountedAt(root, runningRoot))
    ?? (await linkedDeployment(root, [`boot.${bootVersion}`, `boot.${1 - Number(bootVersion)}`].map((boot) => join('ostree', boot, os!, bootcsum!, serial!))))
    ?? failNoDeployment(sysroot, argument!);
}

async function deploymentMountedAt(root: string, runningRoot: string): Promise<Deployment | undefined> {
  const running = await stat(runningRoot);
  const deployRoot = join(root, 'ostree', 'deploy');
  for (const os of await readdir(deployRoot).catch(() => [])) {
    for (const name of await readdir(join(deployRoot, os, 'deploy')).catch(() => [])) {
      const match = deploymentDirectory.exec(name);
      if (!match) continue;
      const info = await stat(join(deployRoot, os, 'deploy', name)).catch(() => undefined);
      if (info && info.dev === running.dev && info.ino === running.ino) return { os, commit: match[1]!, serial: Number(match[2]) };
    }
  }
  return undefined;
}

async function linkedDeployment(root: string, candidates: string[]): Promise<Deployment | undefined> {
  for (const candidate of candidates) {
    const resolved = await realpath(join(root, candidate)).catch(() => undefined);
    const match = resolved === undefined ? undefined : deploymentPath.exec(relative(root, resolved));
    if (match) return { os: match[1]!, commit: match[2]!, serial: Number(match[3]) };
  }
  return undefined;
}

function failNoDeployment(sysroot: string, argument: string): never {
  throw new ConfigError(`the booted deployment ostree=${argument} is not a deployment of the sysroot ${sysroot} ([pacman] sysroot)`);
}
