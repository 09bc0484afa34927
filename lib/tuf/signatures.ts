import { constants, verify, type KeyObject } from 'node:crypto';
import { UnsignedMetadataError } from '../errors.js';
import type { CommonFields, PublicKeyEntry, RoleName, RootFields, SignatureEntry, SignedMetadata } from './model.js';

/** fioctl signs RSASSA-PSS with SHA-256 and a salt as long as the digest. */
const otaTufPssSaltLength = 32;

/**
 * Whether `signature` by `key` is valid over one of `signedForms`. The scheme comes from the signature (ota-tuf
 * `method`) or from the key (spec `scheme`) and must fit the key's type; unknown schemes never verify.
 */
function isValidSignature(signedForms: readonly Buffer[], signature: SignatureEntry, key: PublicKeyEntry): boolean {
  return signedForms.some((signedBytes) => verifyOne(signedBytes, signature, key));
}

function verifyOne(signedBytes: Buffer, signature: SignatureEntry, key: PublicKeyEntry): boolean {
  const publicKey = key.publicKey;
  if (!publicKey || signature.value.length === 0) return false;
  const scheme = signature.method ?? key.scheme;
  try {
    switch (scheme) {
      case 'ed25519':
        return publicKey.asymmetricKeyType === 'ed25519' && verify(null, signedBytes, publicKey, signature.value);
      case 'rsassa-pss-sha256':
        return publicKey.asymmetricKeyType === 'rsa' && verify('sha256', signedBytes, pssKey(publicKey, signature), signature.value);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

function pssKey(key: KeyObject, signature: SignatureEntry) {
  // The spec dialect does not fix the salt length (python-securesystemslib has used several): let OpenSSL read it.
  const saltLength = signature.method === undefined ? constants.RSA_PSS_SALTLEN_AUTO : otaTufPssSaltLength;
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength };
}

/**
 * Counts the distinct keys of `role` (in `root`) with a valid signature on `metadata`. A key that signs twice,
 * or is listed under two ids, counts once; signatures by keys outside the role are ignored.
 */
export function countRoleSignatures(metadata: SignedMetadata<CommonFields>, root: RootFields, role: RoleName): number {
  const roleKeyIds = new Set(root.roles[role].keyIds);
  const signers = new Set<string>();
  for (const signature of metadata.signatures) {
    if (!roleKeyIds.has(signature.keyId)) continue;
    const key = root.keys.get(signature.keyId);
    if (!key?.publicKey) continue;
    const identity = key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    if (signers.has(identity)) continue;
    if (isValidSignature(metadata.signedForms, signature, key)) signers.add(identity);
  }
  return signers.size;
}

/** Throws UnsignedMetadataError unless a threshold of `role`'s keys in `root` signed `metadata`. */
export function requireThreshold(metadata: SignedMetadata<CommonFields>, root: SignedMetadata<RootFields>, role: RoleName): void {
  const { threshold } = root.fields.roles[role];
  const count = countRoleSignatures(metadata, root.fields, role);
  if (count < threshold) {
    throw new UnsignedMetadataError(
      `${metadata.fileName}: ${count} valid signature(s) from the ${role} keys of root version ${root.fields.version}, ${threshold} required`,
    );
  }
}

/** Throws UnsignedMetadataError when any signature on `metadata` is not a valid signature by a key of `role`. */
export function requireEverySignatureValid(metadata: SignedMetadata<CommonFields>, root: SignedMetadata<RootFields>, role: RoleName): void {
  const roleKeyIds = new Set(root.fields.roles[role].keyIds);
  for (const signature of metadata.signatures) {
    const key = roleKeyIds.has(signature.keyId) ? root.fields.keys.get(signature.keyId) : undefined;
    if (!key || !isValidSignature(metadata.signedForms, signature, key)) {
      throw new UnsignedMetadataError(`${metadata.fileName}: the signature by key ${signature.keyId} is not a valid ${role} signature`);
    }
  }
}
