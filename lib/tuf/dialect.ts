import { createPublicKey, type KeyObject } from 'node:crypto';
import { InvalidMetadataError } from '../errors.js';
import { canonicalEncodings } from './canonical-json.js';
import type {
  BundleTargetsFields, CommonFields, Dialect, MetaFileInfo, PublicKeyEntry, RoleKeys, RoleName, RootFields, SignatureEntry,
  SignedMetadata, SnapshotFields, TargetFileEntry, TargetsFields, TimestampFields,
} from './model.js';
import { roleNames } from './model.js';
import { DeferredJson, parseCanonicalSigned, parseStrictJson } from './strict-json.js';

/**
 * Reads metadata in either dialect into the one internal model (model.ts). Only the shape is checked here;
 * signatures, versions and expiry are the trusted store's business.
 */

const typeNames: Record<string, { dialect: Dialect; role: RoleName }> = {
  Root: { dialect: 'ota-tuf', role: 'root' },
  Timestamp: { dialect: 'ota-tuf', role: 'timestamp' },
  Snapshot: { dialect: 'ota-tuf', role: 'snapshot' },
  Targets: { dialect: 'ota-tuf', role: 'targets' },
  root: { dialect: 'tuf-spec', role: 'root' },
  timestamp: { dialect: 'tuf-spec', role: 'timestamp' },
  snapshot: { dialect: 'tuf-spec', role: 'snapshot' },
  targets: { dialect: 'tuf-spec', role: 'targets' },
};

export function parseRoot(bytes: Buffer, fileName: string): SignedMetadata<RootFields> {
  return parseSigned(bytes, fileName, 'root', (signed, shape) => ({
    ...commonFields(signed, shape),
    keys: parseKeys(shape.object(signed.keys, 'keys'), shape),
    roles: parseRoles(shape.object(signed.roles, 'roles'), shape),
  }));
}

export function parseTimestamp(bytes: Buffer, fileName: string): SignedMetadata<TimestampFields> {
  return parseSigned(bytes, fileName, 'timestamp', (signed, shape) => {
    const meta = shape.object(signed.meta, 'meta');
    if (meta['snapshot.json'] === undefined) shape.fail("meta has no 'snapshot.json'");
    return { ...commonFields(signed, shape), snapshotMeta: parseMetaFile(meta['snapshot.json'], 'meta["snapshot.json"]', shape) };
  });
}

export function parseSnapshot(bytes: Buffer, fileName: string): SignedMetadata<SnapshotFields> {
  return parseSigned(bytes, fileName, 'snapshot', (signed, shape) => {
    const meta = new Map<string, MetaFileInfo>();
    for (const [name, info] of Object.entries(shape.object(signed.meta, 'meta'))) {
      meta.set(name, parseMetaFile(info, `meta[${JSON.stringify(name)}]`, shape));
    }
    return { ...commonFields(signed, shape), meta };
  });
}

/** The map of targets stays unparsed until the file's signatures are found good: see `TargetsEnvelope`. */
const isTargetMap = (path: readonly string[]) => path.length === 2 && path[0] === 'signed' && path[1] === 'targets';
/** Inside that map, a target's custom fields stay unparsed until read: selection needs a few of them, of a few targets. */
const isTargetCustom = (path: readonly string[]) => path.length === 2 && path[1] === 'custom';

/**
 * targets.json read in two steps, so that an unsigned file costs a scan of its bytes and no more, however large: the
 * envelope (signatures, the signed bytes, version, expiry), then, once a threshold of its signatures is found good,
 * its targets. A file not spelled canonically is parsed in full at once (and is bounded in size for that, see
 * `parseSigned`).
 */
export interface TargetsEnvelope extends SignedMetadata<CommonFields> {
  readTargets(): SignedMetadata<TargetsFields>;
}

export function parseTargetsEnvelope(bytes: Buffer, fileName: string): TargetsEnvelope {
  const { metadata, signed, shape } = parseEnvelope(bytes, fileName, 'targets', isTargetMap);
  const fields = commonFields(signed, shape);
  return {
    ...metadata,
    fields,
    readTargets: () => {
      const map = signed.targets instanceof DeferredJson ? signed.targets.valueDeferring(isTargetCustom) : signed.targets;
      const targets = new Map<string, TargetFileEntry>();
      for (const [name, entry] of Object.entries(shape.object(map, 'targets'))) {
        const where = `targets[${JSON.stringify(name)}]`;
        const target = shape.object(entry, where);
        targets.set(name, new TargetEntry(shape.length(target.length, `${where}.length`), shape.hashes(target.hashes, `${where}.hashes`), target.custom));
      }
      return { ...metadata, fields: { ...fields, targets } };
    },
  };
}

/** targets.json in full: for files already trusted (the device's stored copy) or checked otherwise (the host). */
export function parseTargets(bytes: Buffer, fileName: string): SignedMetadata<TargetsFields> {
  return parseTargetsEnvelope(bytes, fileName).readTargets();
}

/** A target of targets.json, its custom fields parsed each time they are read (see TargetFileEntry). */
class TargetEntry implements TargetFileEntry {
  constructor(readonly length: number, readonly hashes: Readonly<Record<string, string>>, private readonly customFields: unknown) {}

  get custom(): unknown {
    return this.customFields instanceof DeferredJson ? this.customFields.value() : this.customFields;
  }
}

export function parseBundleTargets(bytes: Buffer, fileName: string): SignedMetadata<BundleTargetsFields> {
  return parseSigned(bytes, fileName, 'targets', (signed, shape) => {
    const bundle = shape.object(signed['x-fio-offline-bundle'], 'x-fio-offline-bundle');
    const targets = shape.array(bundle.targets, 'x-fio-offline-bundle.targets').map((name, index) => shape.string(name, `x-fio-offline-bundle.targets[${index}]`));
    return {
      ...commonFields(signed, shape),
      bundle: {
        type: shape.string(bundle.type, 'x-fio-offline-bundle.type'),
        tag: bundle.tag === undefined ? undefined : shape.string(bundle.tag, 'x-fio-offline-bundle.tag'),
        targets,
      },
    };
  });
}

type JsonObject = Record<string, unknown>;

/**
 * Metadata that fioctl wrote is canonical: its `signed` bytes are what was signed, and they are read once. Other
 * spellings are parsed in full and encoded again, which costs several times the file's size in memory: that is
 * refused for files over `MAX_NON_CANONICAL_BYTES`, before any parsing.
 */
const MAX_NON_CANONICAL_BYTES = 16 << 20;

function parseSigned<Fields extends CommonFields>(
  bytes: Buffer,
  fileName: string,
  role: RoleName,
  parseFields: (signed: JsonObject, shape: ShapeChecker) => Fields,
): SignedMetadata<Fields> {
  const { metadata, signed, shape } = parseEnvelope(bytes, fileName, role, () => false);
  return { ...metadata, fields: parseFields(signed, shape) };
}

/** The document's signatures and signed bytes, and its `signed` object, with the subtrees `isDeferred` names left unparsed. */
function parseEnvelope(bytes: Buffer, fileName: string, role: RoleName, isDeferred: (path: readonly string[]) => boolean) {
  const shape: ShapeChecker = new ShapeChecker(fileName);
  const canonical = parseCanonicalSigned(bytes, fileName, isDeferred);
  if (!canonical && bytes.length > MAX_NON_CANONICAL_BYTES) {
    shape.fail(`is ${bytes.length} bytes of JSON not spelled canonically (as fioctl writes metadata), more than the ${MAX_NON_CANONICAL_BYTES} read in any other spelling`);
  }
  const document = shape.object(canonical ? canonical.document : parseStrictJson(bytes, fileName), 'the document');
  const signed = shape.object(document.signed, 'signed');
  const type = typeof signed._type === 'string' ? typeNames[signed._type] : undefined;
  if (!type) shape.fail(`signed._type ${JSON.stringify(signed._type)} is not a TUF role`);
  if (type.role !== role) shape.fail(`holds ${type.role} metadata where ${role} metadata was expected`);
  const signatures = shape.array(document.signatures, 'signatures').map((entry, index) => parseSignature(entry, index, type.dialect, shape));
  const metadata = {
    fileName,
    dialect: type.dialect,
    signatures,
    signedForms: canonical ? [canonical.signedBytes] : canonicalEncodings(signed, type.dialect, fileName),
    rawBytes: bytes,
  };
  return { metadata, signed, shape };
}

function commonFields(signed: JsonObject, shape: ShapeChecker): CommonFields {
  return { version: shape.version(signed.version, 'version'), expires: shape.timestamp(signed.expires, 'expires') };
}

function parseSignature(value: unknown, index: number, dialect: Dialect, shape: ShapeChecker): SignatureEntry {
  const where = `signatures[${index}]`;
  const signature = shape.object(value, where);
  const keyId = shape.string(signature.keyid, `${where}.keyid`);
  const sig = shape.string(signature.sig, `${where}.sig`);
  if (dialect === 'ota-tuf') {
    return { keyId, method: shape.string(signature.method, `${where}.method`), value: decodeStrict(sig, 'base64') };
  }
  return { keyId, method: undefined, value: decodeStrict(sig, 'hex') };
}

/** Badly encoded signatures decode to nothing, so they simply fail to verify. */
function decodeStrict(text: string, encoding: 'base64' | 'hex'): Buffer {
  const pattern = encoding === 'hex' ? /^(?:[0-9a-fA-F]{2})*$/ : /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  return pattern.test(text) ? Buffer.from(text, encoding) : Buffer.alloc(0);
}

function parseKeys(keys: JsonObject, shape: ShapeChecker): Map<string, PublicKeyEntry> {
  const parsed = new Map<string, PublicKeyEntry>();
  for (const [id, value] of Object.entries(keys)) {
    const where = `keys[${JSON.stringify(id)}]`;
    const key = shape.object(value, where);
    const keyType = shape.string(key.keytype, `${where}.keytype`).toLowerCase();
    const scheme = key.scheme === undefined ? undefined : shape.string(key.scheme, `${where}.scheme`);
    const publicText = shape.string(shape.object(key.keyval, `${where}.keyval`).public, `${where}.keyval.public`);
    parsed.set(id, { id, keyType, scheme, publicKey: importPublicKey(keyType, publicText) });
  }
  return parsed;
}

// DER prefix of an ed25519 SubjectPublicKeyInfo; the 32 key bytes follow.
const ed25519SpkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');

/** Keys of unknown types or with unreadable material are kept but unusable: their signatures never count. */
function importPublicKey(keyType: string, publicText: string): KeyObject | undefined {
  try {
    const key = publicText.startsWith('-----BEGIN PUBLIC KEY-----')
      ? createPublicKey({ key: publicText, format: 'pem' })
      : keyType === 'ed25519' && /^[0-9a-fA-F]{64}$/.test(publicText)
        ? createPublicKey({ key: Buffer.concat([ed25519SpkiPrefix, Buffer.from(publicText, 'hex')]), format: 'der', type: 'spki' })
        : undefined;
    return key?.asymmetricKeyType === keyType ? key : undefined;
  } catch {
    return undefined;
  }
}

function parseRoles(roles: JsonObject, shape: ShapeChecker): Record<RoleName, RoleKeys> {
  const parsed = {} as Record<RoleName, RoleKeys>;
  for (const name of roleNames) {
    const role = shape.object(roles[name], `roles.${name}`);
    const keyIds = shape.array(role.keyids, `roles.${name}.keyids`).map((id, index) => shape.string(id, `roles.${name}.keyids[${index}]`));
    const threshold = shape.version(role.threshold, `roles.${name}.threshold`);
    parsed[name] = { keyIds, threshold };
  }
  return parsed;
}

function parseMetaFile(value: unknown, where: string, shape: ShapeChecker): MetaFileInfo {
  const info = shape.object(value, where);
  return {
    version: shape.version(info.version, `${where}.version`),
    length: info.length === undefined ? undefined : shape.length(info.length, `${where}.length`),
    hashes: info.hashes === undefined ? undefined : shape.hashes(info.hashes, `${where}.hashes`),
  };
}

/** Type checks with messages that name the file and the field. */
class ShapeChecker {
  constructor(private readonly fileName: string) {}

  fail(problem: string): never {
    throw new InvalidMetadataError(`${this.fileName}: ${problem}`);
  }

  object(value: unknown, where: string): JsonObject {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(`${where} must be an object`);
    return value as JsonObject;
  }

  array(value: unknown, where: string): unknown[] {
    if (!Array.isArray(value)) this.fail(`${where} must be an array`);
    return value;
  }

  string(value: unknown, where: string): string {
    if (typeof value !== 'string') this.fail(`${where} must be a string`);
    return value;
  }

  /** Versions and thresholds: integers from 1. */
  version(value: unknown, where: string): number {
    if (!Number.isSafeInteger(value) || (value as number) < 1) this.fail(`${where} must be an integer of at least 1`);
    return value as number;
  }

  length(value: unknown, where: string): number {
    if (!Number.isSafeInteger(value) || (value as number) < 0) this.fail(`${where} must be a non-negative integer`);
    return value as number;
  }

  hashes(value: unknown, where: string): Record<string, string> {
    const hashes = this.object(value, where);
    for (const [algorithm, digest] of Object.entries(hashes)) {
      if (typeof digest !== 'string' || !/^[0-9a-fA-F]+$/.test(digest)) this.fail(`${where}.${algorithm} must be a hex string`);
    }
    return hashes as Record<string, string>;
  }

  timestamp(value: unknown, where: string): Date {
    const text = this.string(value, where);
    const date = new Date(text);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/.test(text) || Number.isNaN(date.getTime())) {
      this.fail(`${where} ${JSON.stringify(text)} is not a UTC time like 2030-01-01T00:00:00Z`);
    }
    return date;
  }
}
