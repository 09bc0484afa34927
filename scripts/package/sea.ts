import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nodeExecutable, onHost, type NodeRuntime } from './node-runtimes.js';

const run = promisify(execFile);
/** The fuse Node's SEA support looks for (flipped by postject once the blob is in). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Makes `output`, a copy of the runtime's node with the bundled script injected as its Single Executable
 * Application blob. The blob is prepared by that same node (natively or under qemu): its layout depends on the
 * word size, and its V8 code cache, which spares the binary compiling the script at every start, on the CPU.
 */
export async function makeExecutable(runtime: NodeRuntime, script: string, workDir: string, output: string, postject: string): Promise<void> {
  const node = await nodeExecutable(runtime);
  await mkdir(workDir, { recursive: true });
  const blob = join(workDir, `sea-${runtime.arch}.blob`);
  const config = join(workDir, `sea-${runtime.arch}.json`);
  await writeFile(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  const [program, ...args] = onHost(runtime, node, '--experimental-sea-config', config);
  await run(program!, args, { cwd: workDir });
  const partial = `${output}.partial`;
  await rm(partial, { force: true });
  await copyFile(node, partial);
  await chmod(partial, 0o755);
  await run(process.execPath, [postject, partial, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { maxBuffer: 1 << 20 });
  await run('mv', ['-f', partial, output]);
}
