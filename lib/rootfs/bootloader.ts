import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RollbackMode } from '../config/device-config.js';
import { BootloaderError } from '../errors.js';

/** Where a rootfs carries its boot firmware version, `bootfirmware_version=<N>` (aktualizr-lite bootloaderlite.h VersionFile). */
const BOOT_FIRMWARE_VERSION_FILE = 'usr/lib/firmware/version.txt';

/**
 * The bootloader's side of an OSTree update, by `[bootloader] rollback_mode`, through the commands on the device's
 * PATH exactly as aktualizr runs them (libaktualizr bootloader.cc updateNotify and setBootOK, aktualizr-lite
 * bootloaderlite.cc for the boot firmware): U-Boot's `fw_setenv`/`fw_printenv -n`, or `fiovb_setenv`/`fiovb_printenv`
 * on boards whose variables live in the secure world. Unlike aktualizr, which logs a failing command and goes on, a
 * failure here is a BootloaderError: the device must not reboot into a rootfs its bootloader was not told about,
 * since it would never fall back from it.
 */
export class Bootloader {
  constructor(readonly mode: RollbackMode) {}

  /** Whether the mode has the boot firmware variables (`bootupgrade_available`...): U-Boot masked and fiovb. */
  get handlesBootFirmware(): boolean {
    return this.mode === 'uboot_masked' || this.mode === 'fiovb';
  }

  /** A new rootfs is the next boot: count its boots from 0, arm the fallback (masked, fiovb), clear an old rollback. */
  async updateNotify(): Promise<void> {
    if (this.mode === 'none') return;
    await this.setenv('bootcount', '0');
    if (this.mode !== 'uboot_generic') await this.setenv('upgrade_available', '1');
    await this.setenv('rollback', '0');
  }

  /** The new rootfs booted: stop counting and disarm the fallback. */
  async setBootOk(): Promise<void> {
    if (this.mode === 'none') return;
    await this.setenv('bootcount', '0');
    if (this.mode !== 'uboot_generic') await this.setenv('upgrade_available', '0');
  }

  /**
   * After a deploy: when the deployed tree carries another boot firmware version than the bootloader's
   * `bootfirmware_version` (or that one is unknown), `bootupgrade_available=1` makes the next boots install and then
   * confirm it (bootloaderlite.cc installNotify). A tree without a version file brings no boot firmware.
   */
  async installNotify(deploymentDir: string): Promise<void> {
    if (!this.handlesBootFirmware) return;
    const line = await readFile(join(deploymentDir, BOOT_FIRMWARE_VERSION_FILE), 'utf8').catch(() => undefined);
    const version = line === undefined ? undefined : /bootfirmware_version=\s*(\S*)/.exec(line)?.[1];
    if (!version) return;
    const current = await this.printenv('bootfirmware_version').catch(() => undefined);
    if (current !== version) await this.setenv('bootupgrade_available', '1');
  }

  /**
   * `bootupgrade_available=1`: a boot firmware update waits for the reboot that confirms it. A variable that cannot
   * be read counts as 0, as aktualizr-lite counts it (bootloaderlite.cc isUpdateInProgress).
   */
  async bootFirmwareUpdatePending(): Promise<boolean> {
    if (!this.handlesBootFirmware) return false;
    return (await this.printenv('bootupgrade_available').catch(() => '')) === '1';
  }

  private get commands(): { set: string; print: string[] } {
    return this.mode === 'fiovb' ? { set: 'fiovb_setenv', print: ['fiovb_printenv'] } : { set: 'fw_setenv', print: ['fw_printenv', '-n'] };
  }

  private async setenv(name: string, value: string): Promise<void> {
    await run(this.commands.set, [name, value]);
  }

  private async printenv(name: string): Promise<string> {
    const [program, ...args] = this.commands.print;
    return (await run(program!, [...args, name])).trim();
  }
}

function run(program: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the command is not on PATH' : stderr.trim() || error.message;
      reject(new BootloaderError(`${[program, ...args].join(' ')} failed: ${why}`, { cause: error }));
    });
  });
}
