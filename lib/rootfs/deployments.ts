import { ostree } from './ostree-cli.js';

export interface Deployment {
  readonly os: string;
  readonly commit: string;
  readonly serial: number;
}

// `ostree admin status` prints one line per deployment, in boot order, e.g. `* lmp <commit>.0 (rollback)`.
const deploymentLine = /^[* ] (\S+) ([0-9a-f]{64})\.(\d+)(?: \([^)]*\))?$/;

/** The sysroot's deployments in boot order: the first is the one the bootloader starts by default. */
export async function listDeployments(sysroot: string): Promise<Deployment[]> {
  const status = await ostree(['admin', 'status', `--sysroot=${sysroot}`]);
  const deployments: Deployment[] = [];
  for (const line of status.split('\n')) {
    const match = deploymentLine.exec(line);
    if (match) deployments.push({ os: match[1]!, commit: match[2]!, serial: Number(match[3]) });
  }
  return deployments;
}
