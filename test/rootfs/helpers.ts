import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { runTool } from '../../fixtures/oci/tools.js';
import type { RootfsConfig } from '../../lib/config/device-config.js';
import type { Medium } from '../../lib/medium/medium.js';
import { RebootSentinel } from '../../lib/rootfs/reboot-sentinel.js';
import { Rootfs } from '../../lib/rootfs/rootfs.js';

/** A simulated OSTree device: a real sysroot in a temporary directory and a kernel command line file. */
export interface SimulatedDevice {
  readonly root: string;
  readonly config: RootfsConfig;
  /** The reboot sentinel's directory, a tmpfs on a device (`[bootloader] reboot_sentinel_dir`). */
  readonly runtimeDir: string;
  readonly rootfs: Rootfs;
  /** A reboot into the deployment of `commit`: the runtime directory is emptied and the kernel command line rewritten. */
  bootInto(commit: string): Promise<void>;
}

/** Creates a sysroot with `os-init lmp`, deploys `initialCommit` from `repo` and boots it. */
export async function simulatedDevice(repo: string, initialCommit: string): Promise<SimulatedDevice> {
  const root = await mkdtemp(join(tmpdir(), 'fioup-rootfs-device-'));
  const sysroot = join(root, 'sysroot');
  await mkdir(sysroot);
  await runTool('ostree', ['admin', 'init-fs', sysroot]);
  await runTool('ostree', ['admin', 'os-init', 'lmp', `--sysroot=${sysroot}`]);
  await runTool('ostree', [`--repo=${sysroot}/ostree/repo`, 'pull-local', repo, initialCommit]);
  await runTool('ostree', ['admin', 'deploy', `--sysroot=${sysroot}`, '--os=lmp', initialCommit]);
  const config: RootfsConfig = { sysroot, os: 'lmp', ostree: 'auto', kernelCmdline: join(root, 'cmdline') };
  const runtimeDir = join(root, 'run');
  const device: SimulatedDevice = {
    root,
    config,
    runtimeDir,
    rootfs: new Rootfs(config, new RebootSentinel(join(runtimeDir, 'need_reboot'))),
    bootInto: async (commit) => {
      const argument = await bootArgumentFor(sysroot, commit);
      await rm(runtimeDir, { recursive: true, force: true });
      await writeFile(config.kernelCmdline, `console=ttyS0 root=LABEL=otaroot rw ostree=${argument} quiet\n`);
    },
  };
  await device.bootInto(initialCommit);
  return device;
}

/** The `ostree=` argument of the bootloader entry that boots `commit`, read from the sysroot's loader entries. */
async function bootArgumentFor(sysroot: string, commit: string): Promise<string> {
  const entries = join(sysroot, 'boot', 'loader', 'entries');
  for (const name of await readdir(entries)) {
    const argument = /\bostree=(\S+)/.exec(await readFile(join(entries, name), 'utf8'))?.[1];
    if (argument && basename(await realpath(join(sysroot, argument))).startsWith(`${commit}.`)) return argument;
  }
  throw new Error(`no bootloader entry boots ${commit}`);
}

/** Deployed trees are immutable: clear the attribute before removing them. */
export async function removeDevice(root: string): Promise<void> {
  await promisify(execFile)('chattr', ['-R', '-i', root]).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
}

/** A directory medium seen as an archive would be: no local root, every read through the interface. */
export function withoutLocalRoot(medium: Medium): Medium {
  return {
    description: `${medium.description} (read as an archive)`,
    localRoot: undefined,
    stat: (path) => medium.stat(path),
    list: (path) => medium.list(path),
    readFile: (path, maxBytes) => medium.readFile(path, maxBytes),
    open: (path) => medium.open(path),
    close: () => medium.close(),
  };
}
