import { BlobNotFoundError, ContentVerificationError, PlatformNotOfferedError } from '../errors.js';
import { safeRelativePath } from '../medium/safe-path.js';
import type { BlobSource } from '../oci/blob-source.js';
import { parseDescriptor, requireSize, type BlobDescriptor } from '../oci/descriptor.js';
import { digestOfHex, requireDigest } from '../oci/digest.js';
import { parseBlobJson, requireArray, requireObject, requireString } from '../oci/json.js';
import { MEDIA_TYPES } from '../oci/media-types.js';
import type { PinnedReference } from '../oci/pinned-reference.js';
import type { AppUri } from '../targets/app-uri.js';
import { readAppArchive, type AppArchive, type ArchiveExpansion } from './app-archive-reader.js';
import { COMPOSE_FILE_NAME, MAX_COMPOSE_FILE_BYTES, parseComposeFile, type ComposeService } from './compose-file.js';
import { describePlatform, platformMatches, type Platform } from './platform.js';

/**
 * The verified tree of one Compose App, built by following the hash chain from the app URI of a trusted target
 * through a blob source: app manifest → app archive (+ index) → compose file → per image: index → platform manifest →
 * config + layers. Every JSON link is read under a size cap, checked against the digest (and size) pointing at
 * it, then parsed strictly; the app archive, the configs and the layers are only described here (digest, size) and
 * checked when streamed from the blob source, by whoever streams them (the image loader).
 *
 * App manifests are read as composectl reads them (docs/formats.md section 5): its media type and `layers[0]`, the
 * app archive, decide; `artifactType`, the `compose-app` annotation and the config are optional, so that manifests
 * published before composeapp 71fdb75 (no artifactType, an image-config config with no size, absent from the
 * medium) and archives without an index (before 5bb0f02) are valid apps.
 */

const MAX_JSON_BLOB_BYTES = 4 * 1024 * 1024;
const MAX_APP_ARCHIVE_BYTES = 1024 ** 3;
const MAX_LAYER_BYTES = 64 * 1024 ** 3;

const APP_ARTIFACT_TYPE = 'application/vnd.fio+compose-app';
/** composeapp's media type of the app archive layer. */
const APP_ARCHIVE_MEDIA_TYPE = 'application/octet-stream';
const LAYERS_META_ANNOTATION = 'layers-meta';
// composeapp's names: it calls the app archive the app bundle.
const ARCHIVE_INDEX_DIGEST = 'org.foundries.app.bundle.index.digest';
const ARCHIVE_INDEX_SIZE = 'org.foundries.app.bundle.index.size';

export type BlobKind =
  | 'app manifest' | 'app manifest config' | 'archive index' | 'layers-meta' | 'app archive'
  | 'image index' | 'image manifest' | 'config' | 'layer';

export interface AppBlob {
  readonly kind: BlobKind;
  readonly descriptor: BlobDescriptor;
}

export interface ImageTree {
  /** The reference as the compose file pins it. */
  readonly reference: PinnedReference;
  /** Services of the compose file that run this image. */
  readonly services: readonly string[];
  /** The image index the reference points at; undefined when it points at a single manifest. */
  readonly index: BlobDescriptor | undefined;
  /** The manifest for the platform of the tree. */
  readonly manifest: BlobDescriptor;
  readonly config: BlobDescriptor;
  readonly layers: readonly BlobDescriptor[];
}

/** One layer's entry in layers-meta: compressed size, bytes once extracted on disk, uncompressed tar size. */
export interface LayerUsage {
  readonly size: number;
  readonly usage: number;
  readonly archiveSize: number;
}

export interface LayersMeta {
  readonly descriptor: BlobDescriptor;
  /** This platform's entry; undefined when layers-meta has none for its architecture. */
  readonly fsBlockSize: number | undefined;
  readonly layers: ReadonlyMap<string, LayerUsage>;
}

export interface AppTree {
  readonly app: AppUri;
  readonly platform: Platform;
  readonly manifest: BlobDescriptor;
  /** The app manifest's config: described, never read (older manifests point at a blob that no medium holds). */
  readonly manifestConfig: BlobDescriptor;
  /** Undefined for apps published without an archive index: the archive's own digest then vouches for its files. */
  readonly archiveIndex: BlobDescriptor | undefined;
  readonly archive: AppArchive;
  /** What the archive extracts to: the compose project's size on the device. */
  readonly expansion: ArchiveExpansion;
  readonly services: readonly ComposeService[];
  readonly images: readonly ImageTree[];
  readonly layersMeta: LayersMeta | undefined;
}

/**
 * Follows the chain from `app` (digest-pinned, from trusted targets) for `platform`; any broken link is a
 * ContentVerificationError naming the blob. Images the medium does not hold for `platform` (an index that does not
 * list it, or lists a manifest the medium lacks; a single-platform image for another platform) are a
 * PlatformNotOfferedError naming the platform. Whether the app is there at all is the app store's question (`AppStore`).
 */
export async function buildAppTree(blobs: BlobSource, app: AppUri, platform: Platform): Promise<AppTree> {
  const of = `of app ${app.name}`;
  const digest = digestOfHex(app.manifestHex);
  const found = await blobs.find({ digest, what: `manifest ${of}` }, MAX_JSON_BLOB_BYTES);
  const manifestJson = requireObject(parseBlobJson(found.bytes, `manifest ${of}`), `manifest ${of}`);
  const manifest: BlobDescriptor = { mediaType: MEDIA_TYPES.ociManifest, digest, size: found.size, what: `manifest ${of}` };
  const { config: manifestConfig, archive: archiveBlob, layersMeta: layersMetaBlob } = checkAppManifest(manifestJson, manifest.what, of);

  const archiveIndex = archiveIndexDescriptor(archiveBlob, `archive index ${of}`);
  const index = archiveIndex === undefined ? undefined : parseArchiveIndex(await blobs.read(archiveIndex, MAX_JSON_BLOB_BYTES), archiveIndex.what);
  if (index && !index.has(COMPOSE_FILE_NAME)) throw new ContentVerificationError(`${archiveIndex!.what}: lists no ${COMPOSE_FILE_NAME}`);
  const archive: AppArchive = { blob: archiveBlob, index };

  const layersMeta = layersMetaBlob === undefined ? undefined : await readLayersMeta(blobs, layersMetaBlob, platform);
  const { text, expansion } = await readComposeFile(blobs, archive);
  const services = parseComposeFile(text, `${COMPOSE_FILE_NAME} ${of}`);
  const images: ImageTree[] = [];
  for (const group of groupByImage(services).values()) images.push(await buildImageTree(blobs, group, platform, of));
  return { app, platform, manifest, manifestConfig, archiveIndex, archive, expansion, services, images, layersMeta };
}

/** Every blob of the tree once (images shared by services or apps' layers appear once), in chain order. */
export function appBlobs(tree: AppTree): AppBlob[] {
  const blobs: AppBlob[] = [
    { kind: 'app manifest', descriptor: tree.manifest },
    { kind: 'app manifest config', descriptor: tree.manifestConfig },
    ...(tree.archiveIndex ? [{ kind: 'archive index' as const, descriptor: tree.archiveIndex }] : []),
    ...(tree.layersMeta ? [{ kind: 'layers-meta' as const, descriptor: tree.layersMeta.descriptor }] : []),
    { kind: 'app archive', descriptor: tree.archive.blob },
  ];
  for (const image of tree.images) {
    if (image.index) blobs.push({ kind: 'image index', descriptor: image.index });
    blobs.push({ kind: 'image manifest', descriptor: image.manifest }, { kind: 'config', descriptor: image.config });
    blobs.push(...image.layers.map((descriptor) => ({ kind: 'layer' as const, descriptor })));
  }
  const seen = new Set<string>();
  return blobs.filter(({ descriptor }) => !seen.has(descriptor.digest) && seen.add(descriptor.digest));
}

interface AppManifestParts {
  readonly config: BlobDescriptor;
  readonly archive: BlobDescriptor;
  readonly layersMeta: BlobDescriptor | undefined;
}

/**
 * Checks what composectl checks of an app manifest (its media type, `layers[0]` an octet-stream archive) and, when
 * present, that `artifactType` and the `compose-app` annotation say Compose App v1. `layers[1]` is layers-meta only
 * when annotated so; further layers are not part of an app.
 */
function checkAppManifest(manifest: Record<string, unknown>, what: string, of: string): AppManifestParts {
  if (manifest.mediaType !== MEDIA_TYPES.ociManifest) throw new ContentVerificationError(`${what}: mediaType ${JSON.stringify(manifest.mediaType)}, not ${MEDIA_TYPES.ociManifest}`);
  const annotations = manifest.annotations === undefined ? {} : requireObject(manifest.annotations, `${what} annotations`);
  if ((manifest.artifactType !== undefined && manifest.artifactType !== APP_ARTIFACT_TYPE) || (annotations['compose-app'] !== undefined && annotations['compose-app'] !== 'v1')) {
    throw new ContentVerificationError(`${what}: not a Compose App manifest (artifactType ${JSON.stringify(manifest.artifactType)}, annotation compose-app ${JSON.stringify(annotations['compose-app'])})`);
  }
  const layers = requireArray(manifest.layers, `${what} layers`);
  if (layers.length === 0) throw new ContentVerificationError(`${what}: has no layers, so no app archive`);
  const archive = parseDescriptor(layers[0], MAX_APP_ARCHIVE_BYTES, `bundle ${of}`);
  if (archive.mediaType !== APP_ARCHIVE_MEDIA_TYPE) throw new ContentVerificationError(`${what}: layers[0] is a ${archive.mediaType}, not the ${APP_ARCHIVE_MEDIA_TYPE} app archive`);
  const second = layers[1] === undefined ? undefined : requireObject(layers[1], `${what} layers[1]`);
  const isLayersMeta = second !== undefined && second.annotations !== undefined && requireObject(second.annotations, `${what} layers[1] annotations`)[LAYERS_META_ANNOTATION] === 'v1';
  return {
    config: parseAppManifestConfig(manifest.config, `${what} config`),
    archive,
    layersMeta: isLayersMeta ? parseDescriptor(second, MAX_JSON_BLOB_BYTES, `layers-meta ${of}`) : undefined,
  };
}

/** The config as the manifest gives it; Go omits a zero `size`, so an absent one is 0 (older manifests: the empty string's digest). */
function parseAppManifestConfig(value: unknown, what: string): BlobDescriptor {
  const config = requireObject(value, what);
  const size = config.size === undefined ? 0 : requireSize(config.size, MAX_JSON_BLOB_BYTES, what);
  return { mediaType: requireString(config.mediaType, `${what} mediaType`), digest: requireDigest(config.digest, what), size, what };
}

/** The index composeapp announces in the archive's annotations; undefined when it announces none (both annotations are needed). */
function archiveIndexDescriptor(archive: BlobDescriptor, what: string): BlobDescriptor | undefined {
  const digest = archive.annotations?.[ARCHIVE_INDEX_DIGEST];
  const size = archive.annotations?.[ARCHIVE_INDEX_SIZE];
  if (digest === undefined || size === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size)) throw new ContentVerificationError(`${archive.what}: annotation ${ARCHIVE_INDEX_SIZE} ${JSON.stringify(size)} is not a size`);
  return { mediaType: 'application/json', digest: requireDigest(digest, what), size: requireSize(Number(size), MAX_JSON_BLOB_BYTES, what), what };
}

function parseArchiveIndex(bytes: Buffer, what: string): ReadonlyMap<string, string> {
  const index = new Map<string, string>();
  for (const [path, digest] of Object.entries(requireObject(parseBlobJson(bytes, what), what))) {
    const safe = safeRelativePath(path, `path ${JSON.stringify(path)} in ${what}`);
    if (index.has(safe)) throw new ContentVerificationError(`${what}: lists ${JSON.stringify(safe)} twice`);
    index.set(safe, requireDigest(digest, `${what} entry ${JSON.stringify(path)}`));
  }
  return index;
}

/**
 * The compose file's text, taken from the archive stream: checked against the index when there is one, and by the
 * archive's digest, verified on the way; with what the whole archive extracts to.
 */
async function readComposeFile(blobs: BlobSource, archive: AppArchive): Promise<{ text: string; expansion: ArchiveExpansion }> {
  let text: string | undefined;
  const expansion = await readAppArchive(blobs, archive, {
    file: async (file, content) => {
      if (file.path !== COMPOSE_FILE_NAME) return;
      if (file.size > MAX_COMPOSE_FILE_BYTES) throw new ContentVerificationError(`${COMPOSE_FILE_NAME} of ${archive.blob.what}: ${file.size} bytes, more than the ${MAX_COMPOSE_FILE_BYTES} allowed`);
      const chunks: Buffer[] = [];
      for await (const chunk of content) chunks.push(chunk);
      text = Buffer.concat(chunks).toString('utf8');
    },
  });
  if (text === undefined) throw new ContentVerificationError(`${archive.blob.what}: has no ${COMPOSE_FILE_NAME}`);
  return { text, expansion };
}

/** Layers-meta only sizes the update: absent from the medium, it is ignored (as composectl does); present, it must be intact. */
async function readLayersMeta(blobs: BlobSource, descriptor: BlobDescriptor, platform: Platform): Promise<LayersMeta | undefined> {
  const what = descriptor.what;
  const bytes = await blobs.read(descriptor, MAX_JSON_BLOB_BYTES).catch((error: unknown) => {
    if (error instanceof BlobNotFoundError) return undefined;
    throw error;
  });
  if (bytes === undefined) return undefined;
  const all = requireObject(parseBlobJson(bytes, what), what);
  const entry = all[platform.architecture];
  if (entry === undefined) return { descriptor, fsBlockSize: undefined, layers: new Map() };
  const where = `${what} ${platform.architecture}`;
  const object = requireObject(entry, where);
  const layers = new Map<string, LayerUsage>();
  for (const [digest, value] of Object.entries(requireObject(object.layers, `${where} layers`))) {
    const layer = requireObject(value, `${where} layer ${digest}`);
    const at = `${where} layer ${requireDigest(digest, `${where} layers`)}`;
    layers.set(digest, {
      size: requireSize(layer.size, MAX_LAYER_BYTES, at),
      usage: requireSize(layer.usage, Number.MAX_SAFE_INTEGER, at),
      archiveSize: requireSize(layer.archive_size, Number.MAX_SAFE_INTEGER, at),
    });
  }
  return { descriptor, fsBlockSize: requireSize(object.fs_block_size, 1 << 20, `${where} fs_block_size`), layers };
}

function groupByImage(services: readonly ComposeService[]): Map<string, { reference: PinnedReference; services: string[] }> {
  const images = new Map<string, { reference: PinnedReference; services: string[] }>();
  for (const service of services) {
    const entry = images.get(service.image.reference) ?? { reference: service.image, services: [] };
    entry.services.push(service.name);
    images.set(service.image.reference, entry);
  }
  return images;
}

async function buildImageTree(blobs: BlobSource, group: { reference: PinnedReference; services: string[] }, platform: Platform, of: string): Promise<ImageTree> {
  const image = `image ${group.reference.repository} ${of}`;
  const pinned = await blobs.find({ digest: group.reference.digest, what: image }, MAX_JSON_BLOB_BYTES);
  const json = requireObject(parseBlobJson(pinned.bytes, image), image);
  let index: BlobDescriptor | undefined;
  let manifest: BlobDescriptor;
  let manifestJson: Record<string, unknown>;
  if (isIndex(json)) {
    index = { mediaType: String(json.mediaType ?? MEDIA_TYPES.ociIndex), digest: group.reference.digest, size: pinned.size, what: `index of ${image}` };
    manifest = choosePlatformManifest(json, platform, index.what, `${describePlatform(platform)} manifest of ${image}`);
    manifestJson = requireObject(parseBlobJson(await readListedManifest(blobs, manifest, index.what, platform), manifest.what), manifest.what);
  } else {
    manifest = { mediaType: String(json.mediaType ?? MEDIA_TYPES.ociManifest), digest: group.reference.digest, size: pinned.size, what: `manifest of ${image}` };
    manifestJson = json;
  }
  if (isIndex(manifestJson) || !isManifestMediaType(manifestJson.mediaType ?? MEDIA_TYPES.ociManifest)) {
    throw new ContentVerificationError(`${manifest.what}: mediaType ${JSON.stringify(manifestJson.mediaType)} is not an image manifest`);
  }
  const config = parseDescriptor(manifestJson.config, MAX_JSON_BLOB_BYTES, `config of ${image}`);
  const layerList = requireArray(manifestJson.layers, `${manifest.what} layers`);
  if (layerList.length === 0) throw new ContentVerificationError(`${manifest.what}: has no layers`);
  const layers = layerList.map((layer, position) => parseDescriptor(layer, MAX_LAYER_BYTES, `layer ${position + 1} of ${image}`));
  if (!index) await requireConfigPlatform(blobs, config, platform, manifest.what);
  return { reference: group.reference, services: group.services, index, manifest, config, layers };
}

/**
 * The manifest an index lists for the platform. The factory's CI copies one platform of each image and keeps the
 * index as published, so a listed manifest that is not on the medium means the platform was not downloaded.
 */
async function readListedManifest(blobs: BlobSource, manifest: BlobDescriptor, indexWhat: string, platform: Platform): Promise<Buffer> {
  try {
    return await blobs.read(manifest, MAX_JSON_BLOB_BYTES);
  } catch (error) {
    if (!(error instanceof BlobNotFoundError)) throw error;
    throw new PlatformNotOfferedError(`${indexWhat}: lists a ${describePlatform(platform)} manifest (${manifest.digest}), but the medium does not hold it: the download has no ${describePlatform(platform)} images`, { cause: error });
  }
}

/** A single-platform image (no index) says its platform in its config: an image for another platform cannot run here. */
async function requireConfigPlatform(blobs: BlobSource, config: BlobDescriptor, platform: Platform, manifestWhat: string): Promise<void> {
  const json = requireObject(parseBlobJson(await blobs.read(config, MAX_JSON_BLOB_BYTES), config.what), config.what);
  if (json.architecture === undefined) return;
  if (!platformMatches(json, platform)) {
    const offered = [json.os, json.architecture, json.variant].filter((part) => typeof part === 'string').join('/');
    throw new PlatformNotOfferedError(`${manifestWhat}: is a single-platform image for ${offered}, not ${describePlatform(platform)}`);
  }
}

function isIndex(json: Record<string, unknown>): boolean {
  if (json.mediaType === undefined) return json.manifests !== undefined;
  return json.mediaType === MEDIA_TYPES.ociIndex || json.mediaType === MEDIA_TYPES.dockerList;
}

function isManifestMediaType(mediaType: unknown): boolean {
  return mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest;
}

function choosePlatformManifest(index: Record<string, unknown>, platform: Platform, what: string, manifestWhat: string): BlobDescriptor {
  const entries = requireArray(index.manifests, `${what} manifests`);
  for (const [position, entry] of entries.entries()) {
    const descriptor = requireObject(entry, `${what} manifest ${position}`);
    const candidate = descriptor.platform === undefined ? {} : requireObject(descriptor.platform, `${what} manifest ${position} platform`);
    if (!platformMatches(candidate, platform)) continue;
    const chosen = parseDescriptor(descriptor, MAX_JSON_BLOB_BYTES, manifestWhat);
    if (!isManifestMediaType(chosen.mediaType)) throw new ContentVerificationError(`${what}: the ${describePlatform(platform)} entry is a ${chosen.mediaType}, not an image manifest`);
    return chosen;
  }
  throw new PlatformNotOfferedError(`${what}: lists no manifest for ${describePlatform(platform)}`);
}
