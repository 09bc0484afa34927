import type { KeyObject } from 'node:crypto';

/** The two spellings of TUF metadata this verifier reads (docs/formats.md section 2). */
export type Dialect = 'ota-tuf' | 'tuf-spec';

export type RoleName = 'root' | 'timestamp' | 'snapshot' | 'targets';
export const roleNames: readonly RoleName[] = ['root', 'timestamp', 'snapshot', 'targets'];

/** A public key as root lists it. `publicKey` is undefined when the key material cannot be used. */
export interface PublicKeyEntry {
  readonly id: string;
  readonly keyType: string;
  /** The spec dialect's `scheme`; the ota-tuf dialect names the scheme in each signature instead. */
  readonly scheme: string | undefined;
  readonly publicKey: KeyObject | undefined;
}

export interface RoleKeys {
  readonly keyIds: readonly string[];
  readonly threshold: number;
}

export interface SignatureEntry {
  readonly keyId: string;
  /** ota-tuf `method`; undefined in the spec dialect (the key's scheme applies). */
  readonly method: string | undefined;
  readonly value: Buffer;
}

export interface CommonFields {
  readonly version: number;
  readonly expires: Date;
}

export interface RootFields extends CommonFields {
  readonly keys: ReadonlyMap<string, PublicKeyEntry>;
  readonly roles: Readonly<Record<RoleName, RoleKeys>>;
}

/** What a role says about another metadata file: its version, and optionally its length and hashes. */
export interface MetaFileInfo {
  readonly version: number;
  readonly length: number | undefined;
  readonly hashes: Readonly<Record<string, string>> | undefined;
}

export interface TimestampFields extends CommonFields {
  readonly snapshotMeta: MetaFileInfo;
}

export interface SnapshotFields extends CommonFields {
  readonly meta: ReadonlyMap<string, MetaFileInfo>;
}

export interface TargetFileEntry {
  readonly length: number;
  readonly hashes: Readonly<Record<string, string>>;
  /**
   * Untrusted in shape (signed, but written by whoever builds targets); lib/targets validates it. Parsed from the
   * signed bytes each time it is read, so that a large targets.json never holds every target's fields at once.
   */
  readonly custom: unknown;
}

export interface TargetsFields extends CommonFields {
  readonly targets: ReadonlyMap<string, TargetFileEntry>;
}

/** The `x-fio-offline-bundle` extension of bundle-targets.json. */
export interface OfflineBundleInfo {
  readonly type: string;
  readonly tag: string | undefined;
  readonly targets: readonly string[];
}

export interface BundleTargetsFields extends CommonFields {
  readonly bundle: OfflineBundleInfo;
}

/**
 * One metadata file, parsed: the role's fields, its signatures, the canonical encodings of `signed` a signature
 * may cover (canonical-json.ts) and the raw bytes (kept so that trusted files can be stored exactly as signed).
 */
export interface SignedMetadata<Fields extends CommonFields> {
  readonly fileName: string;
  readonly dialect: Dialect;
  readonly fields: Fields;
  readonly signatures: readonly SignatureEntry[];
  readonly signedForms: readonly Buffer[];
  readonly rawBytes: Buffer;
}

export type RootMetadata = SignedMetadata<RootFields>;
export type TimestampMetadata = SignedMetadata<TimestampFields>;
export type SnapshotMetadata = SignedMetadata<SnapshotFields>;
export type TargetsMetadata = SignedMetadata<TargetsFields>;
export type BundleTargetsMetadata = SignedMetadata<BundleTargetsFields>;
