import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { BadVersionError, ExpiredMetadataError, MetadataMismatchError, MetadataNotFoundError, RollbackError } from '../errors.js';
import { parseBundleTargets, parseRoot, parseSnapshot, parseTargets, parseTargetsEnvelope, parseTimestamp, type TargetsEnvelope } from './dialect.js';
import type {
  BundleTargetsMetadata, CommonFields, MetaFileInfo, RoleName, RootMetadata, SignedMetadata, SnapshotMetadata, TargetsMetadata,
  TimestampMetadata,
} from './model.js';
import { requireEverySignatureValid, requireThreshold } from './signatures.js';

/** A metadata file's bytes and the name to use for it in messages. */
export interface MetadataFile {
  readonly fileName: string;
  readonly bytes: Buffer;
}

/** The length a trusted role gives the next file (the timestamp of snapshot.json, the snapshot of targets.json), and who says so. */
export interface NamedLength {
  readonly length: number;
  readonly by: string;
}

/** What the device trusted before this run, used as the floor for rollback checks. */
export interface PreviouslyTrusted {
  readonly timestamp?: MetadataFile;
  readonly snapshot?: MetadataFile;
  readonly targets?: MetadataFile;
}

interface Baseline {
  timestamp: TimestampMetadata | undefined;
  snapshot: SnapshotMetadata | undefined;
  targets: TargetsMetadata | undefined;
}

/**
 * The TUF client state machine (TUF spec section 5, as tuf-js's TrustedMetadataStore): it is fed metadata bytes
 * in order (roots, timestamp, snapshot, targets) and accepts each only when it is trustworthy given what it
 * already trusts. No I/O; one clock reading, `now`, for every expiry check.
 */
export class TrustedMetadataStore {
  private currentRoot: RootMetadata;
  private readonly initialRoot: RootMetadata;
  private baselineCache: Baseline | undefined;
  private trustedTimestamp: TimestampMetadata | undefined;
  private trustedSnapshot: SnapshotMetadata | undefined;
  private trustedTargets: TargetsMetadata | undefined;

  /**
   * `deviceRoots` is the device's chain of roots, oldest first: the first is trusted as it is (it comes from the
   * device image), each next one must be signed like any new root.
   */
  constructor(deviceRoots: readonly MetadataFile[], private readonly previous: PreviouslyTrusted, readonly now: Date) {
    const [first, ...rest] = deviceRoots;
    if (!first) throw new MetadataNotFoundError('the device trusts no root metadata');
    this.currentRoot = parseRoot(first.bytes, first.fileName);
    for (const root of rest) this.updateRoot(root);
    this.initialRoot = this.currentRoot;
  }

  get root(): RootMetadata {
    return this.currentRoot;
  }
  get timestamp(): TimestampMetadata | undefined {
    return this.trustedTimestamp;
  }
  get snapshot(): SnapshotMetadata | undefined {
    return this.trustedSnapshot;
  }
  get targets(): TargetsMetadata | undefined {
    return this.trustedTargets;
  }

  /** Accepts root version N+1: signed by a threshold of root N's root keys and of its own. */
  updateRoot(file: MetadataFile): RootMetadata {
    if (this.baselineCache) throw new Error('updateRoot after the timestamp was loaded');
    const next = parseRoot(file.bytes, file.fileName);
    requireThreshold(next, this.currentRoot, 'root');
    requireThreshold(next, next, 'root');
    const expected = this.currentRoot.fields.version + 1;
    if (next.fields.version !== expected) {
      throw new BadVersionError(`${file.fileName}: holds root version ${next.fields.version}, expected ${expected}`);
    }
    this.currentRoot = next;
    return next;
  }

  updateTimestamp(file: MetadataFile): TimestampMetadata {
    if (this.trustedSnapshot) throw new Error('updateTimestamp after the snapshot was loaded');
    this.requireNotExpired(this.currentRoot);
    const timestamp = parseTimestamp(file.bytes, file.fileName);
    requireThreshold(timestamp, this.currentRoot, 'timestamp');
    const previous = this.baseline().timestamp;
    if (previous) {
      requireNoRollback(timestamp, previous);
      if (timestamp.fields.snapshotMeta.version < previous.fields.snapshotMeta.version) {
        throw new RollbackError(
          `${file.fileName}: names snapshot version ${timestamp.fields.snapshotMeta.version}, older than the trusted ${previous.fields.snapshotMeta.version}`,
        );
      }
    }
    this.requireNotExpired(timestamp);
    this.trustedTimestamp = timestamp;
    return timestamp;
  }

  updateSnapshot(file: MetadataFile): SnapshotMetadata {
    if (!this.trustedTimestamp) throw new Error('updateSnapshot before the timestamp');
    if (this.trustedTargets) throw new Error('updateSnapshot after the targets were loaded');
    const snapshot = snapshotNamedBy(this.trustedTimestamp, file);
    requireThreshold(snapshot, this.currentRoot, 'snapshot');
    const previous = this.baseline().snapshot;
    if (previous) {
      requireNoRollback(snapshot, previous);
      for (const [name, info] of previous.fields.meta) {
        const now = snapshot.fields.meta.get(name);
        if (!now) throw new RollbackError(`${file.fileName}: no longer lists ${name}, which the trusted snapshot lists`);
        if (now.version < info.version) {
          throw new RollbackError(`${file.fileName}: names ${name} version ${now.version}, older than the trusted ${info.version}`);
        }
      }
    }
    this.requireNotExpired(snapshot);
    this.trustedSnapshot = snapshot;
    return snapshot;
  }

  /** The length the trusted timestamp gives snapshot.json, or the trusted snapshot targets.json: a bound for reading it. */
  namedLength(file: 'snapshot.json' | 'targets.json'): NamedLength | undefined {
    const referrer = file === 'snapshot.json' ? this.trustedTimestamp : this.trustedSnapshot;
    const length = file === 'snapshot.json' ? this.trustedTimestamp?.fields.snapshotMeta.length : this.trustedSnapshot?.fields.meta.get(file)?.length;
    return referrer && length !== undefined ? { length, by: referrer.fileName } : undefined;
  }

  updateTargets(file: MetadataFile): TargetsMetadata {
    if (!this.trustedSnapshot) throw new Error('updateTargets before the snapshot');
    const envelope = targetsNamedBy(this.trustedSnapshot, file);
    requireThreshold(envelope, this.currentRoot, 'targets');
    const targets = envelope.readTargets();
    const previous = this.baseline().targets;
    if (previous) requireNoRollback(targets, previous);
    this.requireNotExpired(targets);
    this.trustedTargets = targets;
    return targets;
  }

  /**
   * The stale-bundle fallback: trusts the device's stored targets instead of the medium's, provided they are
   * still signed under the current root and not expired. Throws like `updateTargets` otherwise.
   */
  useStoredTargets(): TargetsMetadata | undefined {
    const stored = this.baseline().targets;
    if (!stored) return undefined;
    requireThreshold(stored, this.currentRoot, 'targets');
    this.requireNotExpired(stored);
    this.trustedTargets = stored;
    return stored;
  }

  /** bundle-targets.json: signed by a threshold of the targets keys, every signature valid, not expired. */
  verifyBundleTargets(file: MetadataFile): BundleTargetsMetadata {
    const bundle = parseBundleTargets(file.bytes, file.fileName);
    requireThreshold(bundle, this.currentRoot, 'targets');
    requireEverySignatureValid(bundle, this.currentRoot, 'targets');
    this.requireNotExpired(bundle);
    return bundle;
  }

  private requireNotExpired(metadata: SignedMetadata<CommonFields>): void {
    const { expires } = metadata.fields;
    if (expires.getTime() <= this.now.getTime()) {
      throw new ExpiredMetadataError(
        `${metadata.fileName}: expired at ${expires.toISOString()}; the device's clock says ${this.now.toISOString()}` +
          ' (if that time is wrong, set the clock and try again)',
      );
    }
  }

  /**
   * The device's stored metadata, once the root is final. When the final root changed the timestamp or
   * snapshot keys, the stored timestamp and snapshot are dropped (fast-forward recovery, TUF spec 5.3.11);
   * likewise the stored targets when the targets keys changed.
   */
  private baseline(): Baseline {
    if (!this.baselineCache) {
      const rotated = (role: RoleName) => !sameRoleKeys(this.initialRoot, this.currentRoot, role);
      const keepTimestampAndSnapshot = !rotated('timestamp') && !rotated('snapshot');
      const { timestamp, snapshot, targets } = this.previous;
      this.baselineCache = {
        timestamp: timestamp && keepTimestampAndSnapshot ? parseTimestamp(timestamp.bytes, timestamp.fileName) : undefined,
        snapshot: snapshot && keepTimestampAndSnapshot ? parseSnapshot(snapshot.bytes, snapshot.fileName) : undefined,
        targets: targets && !rotated('targets') ? parseTargets(targets.bytes, targets.fileName) : undefined,
      };
    }
    return this.baselineCache;
  }
}

/**
 * A medium's timestamp, snapshot and targets checked against each other only: the length, hashes and version each
 * gives of the next. What a reader with no root at all can check (a host given a download without `<N>.root.json`,
 * whose devices start from the roots they ship); signatures and expiry are not looked at.
 */
export function checkUnsignedChain(files: { timestamp: MetadataFile; snapshot: MetadataFile; targets: MetadataFile }): {
  timestamp: TimestampMetadata; snapshot: SnapshotMetadata; targets: TargetsMetadata;
} {
  const timestamp = parseTimestamp(files.timestamp.bytes, files.timestamp.fileName);
  const snapshot = snapshotNamedBy(timestamp, files.snapshot);
  return { timestamp, snapshot, targets: targetsNamedBy(snapshot, files.targets).readTargets() };
}

/** The snapshot in `file`, once its bytes and version are those `timestamp` names. */
function snapshotNamedBy(timestamp: TimestampMetadata, file: MetadataFile): SnapshotMetadata {
  const expected = timestamp.fields.snapshotMeta;
  requireMatchingBytes(file, expected, timestamp.fileName);
  const snapshot = parseSnapshot(file.bytes, file.fileName);
  requireVersion(snapshot, expected.version, timestamp.fileName);
  return snapshot;
}

/** The envelope of the targets in `file` (its targets not read yet), once its bytes and version are those `snapshot` names. */
function targetsNamedBy(snapshot: SnapshotMetadata, file: MetadataFile): TargetsEnvelope {
  const expected = snapshot.fields.meta.get('targets.json');
  if (!expected) throw new MetadataMismatchError(`${snapshot.fileName}: lists no targets.json`);
  requireMatchingBytes(file, expected, snapshot.fileName);
  const targets = parseTargetsEnvelope(file.bytes, file.fileName);
  requireVersion(targets, expected.version, snapshot.fileName);
  return targets;
}

function sameRoleKeys(before: RootMetadata, after: RootMetadata, role: RoleName): boolean {
  const keyMaterial = (root: RootMetadata) => {
    const { keyIds, threshold } = root.fields.roles[role];
    const keys = [...new Set(keyIds)].sort().map((id) => root.fields.keys.get(id)?.publicKey?.export({ type: 'spki', format: 'der' }).toString('hex'));
    return { keys, threshold };
  };
  return isDeepStrictEqual(keyMaterial(before), keyMaterial(after));
}

function requireNoRollback(metadata: SignedMetadata<CommonFields>, previous: SignedMetadata<CommonFields>): void {
  if (metadata.fields.version < previous.fields.version) {
    throw new RollbackError(
      `${metadata.fileName}: version ${metadata.fields.version} is older than the version ${previous.fields.version} this device already trusts`,
    );
  }
}

function requireVersion(metadata: SignedMetadata<CommonFields>, expected: number, referrer: string): void {
  if (metadata.fields.version !== expected) {
    throw new BadVersionError(`${metadata.fileName}: holds version ${metadata.fields.version}, but ${referrer} names version ${expected}`);
  }
}

const supportedHashes = new Set(['sha256', 'sha512']);

/** Checks the length and the hashes a trusted role gives for a file against its bytes. */
function requireMatchingBytes(file: MetadataFile, expected: MetaFileInfo, referrer: string): void {
  if (expected.length !== undefined && file.bytes.length !== expected.length) {
    throw new MetadataMismatchError(`${file.fileName}: is ${file.bytes.length} bytes, but ${referrer} says ${expected.length}`);
  }
  for (const [algorithm, digest] of Object.entries(expected.hashes ?? {})) {
    if (!supportedHashes.has(algorithm)) continue;
    const actual = createHash(algorithm).update(file.bytes).digest('hex');
    if (actual !== digest.toLowerCase()) {
      throw new MetadataMismatchError(`${file.fileName}: ${algorithm} is ${actual}, but ${referrer} says ${digest}`);
    }
  }
}
