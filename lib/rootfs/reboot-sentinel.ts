import { rm, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/atomic.js';

/** aktualizr-lite's persistent half of reboot detection: sql.db's `need_reboot` flag (lib/aktualizr). */
export interface NeedRebootFlag {
  set(needed: boolean): Promise<void>;
}

/**
 * aktualizr's reboot detection (bootloader.cc rebootFlagSet/rebootDetected/rebootFlagClear): an empty file on a tmpfs
 * (`[bootloader] reboot_sentinel_dir`/`reboot_sentinel_name`), written when a rootfs is deployed, that the reboot
 * removes; on a device with sql.db also its `need_reboot` flag, without which aktualizr-lite would not finish a
 * pending rootfs this tool deployed. The file is shared with aktualizr-lite: one deploy by either means "reboot".
 */
export class RebootSentinel {
  constructor(readonly path: string, private readonly flag?: NeedRebootFlag) {}

  async set(): Promise<void> {
    await writeFileAtomic(this.path, '', 0o600);
    await this.flag?.set(true);
  }

  async present(): Promise<boolean> {
    return (await stat(this.path).catch(() => undefined)) !== undefined;
  }

  /** After the reboot: the flag goes, then the file (gone already when the tmpfs was emptied). */
  async clear(): Promise<void> {
    await this.flag?.set(false);
    await rm(this.path, { force: true });
  }
}
