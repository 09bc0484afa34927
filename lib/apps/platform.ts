import { ConfigError } from '../errors.js';

/** The OCI platform whose image manifests the device runs. */
export interface Platform {
  readonly os: 'linux';
  readonly architecture: string;
  readonly variant?: string;
}

/** The platform of a Node architecture name (`process.arch`): x64 → linux/amd64, arm64, arm → linux/arm/v7. */
export function platformOfArch(arch: string = process.arch): Platform {
  switch (arch) {
    case 'x64': return { os: 'linux', architecture: 'amd64' };
    case 'arm64': return { os: 'linux', architecture: 'arm64', variant: 'v8' };
    case 'arm': return { os: 'linux', architecture: 'arm', variant: 'v7' };
    default: throw new ConfigError(`unsupported CPU architecture ${JSON.stringify(arch)}: Compose Apps run on amd64, arm64 and arm/v7`);
  }
}

export function describePlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

// What an image index entry without a variant means, as containerd normalises it.
const DEFAULT_VARIANTS: Record<string, string> = { amd64: 'v1', arm64: 'v8', arm: 'v7' };

/** Whether an image index entry's `platform` object is for `platform` (os, architecture, variant). */
export function platformMatches(candidate: { os?: unknown; architecture?: unknown; variant?: unknown }, platform: Platform): boolean {
  if (candidate.os !== platform.os || candidate.architecture !== platform.architecture) return false;
  const wanted = platform.variant ?? DEFAULT_VARIANTS[platform.architecture];
  const offered = candidate.variant ?? DEFAULT_VARIANTS[platform.architecture];
  return offered === wanted;
}
