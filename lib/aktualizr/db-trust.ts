import { stat } from 'node:fs/promises';
import { InvalidMetadataError, MetadataNotFoundError } from '../errors.js';
import { listImageRoots, readRootFile, type TrustStore } from '../tuf/device-trust.js';
import { metadataSizeLimits } from '../tuf/medium-source.js';
import type { MetadataFile } from '../tuf/trusted-store.js';
import type { DeviceTrust, VerifiedMedium } from '../tuf/verify-medium.js';
import type { AktualizrDatabase, AktualizrState, StoredMetadata } from './sql-db.js';

/** liteclient.cc isRootMetaImportNeeded: the image's roots are imported while the database lacks root version 2. */
const IMPORT_UNTIL_ROOT = 2;

/**
 * The trust of a device that has run aktualizr-lite: sql.db's image-repository roots (the newest is the trusted one)
 * and its stored timestamp, snapshot and targets, the floor for rollback checks. While the database has no root
 * version 2, the image's initial roots are added, as aktualizr-lite imports them (liteclient.cc
 * importRootMetaIfNeededAndPresent: of `ci/` or `prod/`, versions 1 and 2 only for a device of unknown type). What an
 * install accepts is written back as libaktualizr writes it: the imported and new roots, one row per version, then
 * the latest timestamp, snapshot and targets, in one transaction.
 */
export class AktualizrTrustStore implements TrustStore {
  /** Image roots that load() added to the chain: persisted with the first install, as aktualizr-lite's import would. */
  private imported: { readonly version: number; readonly file: MetadataFile }[] = [];

  constructor(
    private readonly database: AktualizrDatabase,
    private readonly image: { readonly rootsDir: string; readonly deviceType: string | undefined },
  ) {}

  async load(): Promise<DeviceTrust> {
    const state = await this.database.read();
    if (!state) throw new MetadataNotFoundError(`${this.database.path} went away`);
    const byVersion = new Map<number, MetadataFile>();
    for (const root of state.roots) byVersion.set(root.version, this.file(state, `root version ${root.version}`, root, metadataSizeLimits.root));
    this.imported = [];
    if (!byVersion.has(IMPORT_UNTIL_ROOT)) {
      for (const [version, path] of await listImageRoots(this.image.rootsDir, this.image.deviceType)) {
        if (byVersion.has(version)) continue;
        const file = await readRootFile(path);
        byVersion.set(version, file);
        this.imported.push({ version, file });
      }
    }
    const versions = [...byVersion.keys()].sort((a, b) => a - b);
    if (versions.length === 0) throw new MetadataNotFoundError(`no root metadata in ${state.path} nor in ${this.image.rootsDir}`);
    const roots: MetadataFile[] = [];
    for (let version = versions[0]!; byVersion.has(version); version++) roots.push(byVersion.get(version)!);
    this.imported = this.imported.filter(({ file }) => roots.includes(file));
    const stored = (role: 'timestamp' | 'snapshot' | 'targets') => {
      const row = state.metadata[role];
      return row && this.file(state, `the stored ${role}`, row, metadataSizeLimits[role]);
    };
    return { roots, previous: { timestamp: stored('timestamp'), snapshot: stored('snapshot'), targets: stored('targets') } };
  }

  async persist(verified: VerifiedMedium): Promise<void> {
    const imported = this.imported;
    await this.database.update((writer) => {
      for (const root of imported) writer.storeRoot(root.version, root.file.bytes);
      for (const root of verified.newRoots) writer.storeRoot(root.fields.version, root.rawBytes);
      if (verified.timestamp) writer.storeNonRoot('timestamp', verified.timestamp.rawBytes);
      if (verified.snapshot) writer.storeNonRoot('snapshot', verified.snapshot.rawBytes);
      if (!verified.usedStoredMetadata) writer.storeNonRoot('targets', verified.targets.rawBytes);
    });
    this.imported = [];
  }

  /** The database is rewritten beside itself (then renamed over it): its size, plus the rows added. */
  async persistNeed(verified: VerifiedMedium): Promise<{ bytes: number; files: number }> {
    const current = await stat(this.database.path).then((info) => info.size, () => 0);
    const rows = [...this.imported.map((root) => root.file.bytes), ...verified.newRoots.map((root) => root.rawBytes),
      ...[verified.timestamp, verified.snapshot, verified.usedStoredMetadata ? undefined : verified.targets].map((role) => role?.rawBytes)];
    return { bytes: current + rows.reduce((sum, bytes) => sum + (bytes?.length ?? 0), 0), files: 1 };
  }

  private file(state: AktualizrState, what: string, row: StoredMetadata, maxBytes: number): MetadataFile {
    const fileName = `${state.path} (${what})`;
    if (row.bytes.length > maxBytes) throw new InvalidMetadataError(`${fileName}: is ${row.bytes.length} bytes, more than the ${maxBytes} allowed`);
    return { fileName, bytes: row.bytes };
  }
}
