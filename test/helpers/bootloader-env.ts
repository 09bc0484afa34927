import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A bootloader environment for tests: the real `fw_setenv`/`fw_printenv` of Debian's libubootenv-tool on a plain
 * file through its own `fw_env.config` (`<file> 0x0 0x4000`), initialised once with `-f`. On the test PATH, small
 * wrappers named `fw_setenv`/`fw_printenv` pass `-c` to the real tools; `fiovb_setenv`/`fiovb_printenv`, which only
 * exist on boards with OP-TEE, are emulated by wrappers over the same tools and the same file. `broken` makes the
 * set commands fail, as a write-protected environment would.
 */
export interface BootloaderEnv {
  /** PATH for the CLI: the wrappers first. */
  readonly path: string;
  get(name: string): Promise<string>;
  set(name: string, value: string): Promise<void>;
  /** Makes every set command fail from now on (or work again). */
  breakSetenv(broken: boolean): Promise<void>;
}

export async function bootloaderEnv(directory: string, initial: Record<string, string> = { bootcount: '0' }): Promise<BootloaderEnv> {
  const bin = join(directory, 'bin');
  await mkdir(bin, { recursive: true });
  const envFile = join(directory, 'uboot.env');
  const config = join(directory, 'fw_env.config');
  const defaults = join(directory, 'default.env');
  await writeFile(envFile, Buffer.alloc(0x4000));
  await writeFile(config, `${envFile} 0x0 0x4000\n`);
  await writeFile(defaults, Object.entries(initial).map(([key, value]) => `${key}=${value}\n`).join(''));
  await run('/usr/bin/fw_setenv', ['-c', config, '-f', defaults]);
  const brokenFlag = join(directory, 'setenv-broken');
  const script = (body: string) => `#!/bin/sh\n${body}\n`;
  const setBody = `[ -e ${brokenFlag} ] && { echo "Cannot write the environment" >&2; exit 1; }\nexec /usr/bin/fw_setenv -c ${config} "$@"`;
  const wrappers: Record<string, string> = {
    fw_setenv: script(setBody),
    fw_printenv: script(`exec /usr/bin/fw_printenv -c ${config} "$@"`),
    fiovb_setenv: script(setBody),
    fiovb_printenv: script(`exec /usr/bin/fw_printenv -c ${config} -n "$1"`),
  };
  for (const [name, content] of Object.entries(wrappers)) {
    await writeFile(join(bin, name), content);
    await chmod(join(bin, name), 0o755);
  }
  return {
    path: `${bin}${delimiter}${process.env.PATH ?? ''}`,
    get: async (name) => (await run('/usr/bin/fw_printenv', ['-c', config, '-n', name]).catch(() => ({ stdout: '' }))).stdout.trim(),
    set: async (name, value) => {
      await run('/usr/bin/fw_setenv', ['-c', config, name, value]);
    },
    breakSetenv: async (broken) => {
      if (broken) await writeFile(brokenFlag, '');
      else await run('rm', ['-f', brokenFlag]);
    },
  };
}
