import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { BuildInfo } from '../../lib/build-info.js';

const run = promisify(execFile);

export const DEB_PACKAGE = 'fioup-offline';
const MAINTAINER = 'fioup-offline developers <fioup-offline@users.noreply.github.com>';

export interface DebInputs {
  readonly info: BuildInfo;
  readonly debianArch: 'amd64' | 'arm64';
  readonly executable: string;
  readonly manPage: string;
  readonly bashCompletion: string;
  /** packaging/: systemd units, udev rule, maintainer scripts, copyright. */
  readonly packagingDir: string;
  /** RFC 2822 date of the build, for the changelog. */
  readonly date: Date;
}

/** Where each file of the package goes (Debian 12's paths: units and rules under /lib). */
const UNITS = ['fioup-offline-usb@.service', 'fioup-offline-finish.service'];
const UDEV_RULE = '90-fioup-offline-usb.rules';

export function debFileName(version: string, debianArch: string): string {
  return `${DEB_PACKAGE}_${version}_${debianArch}.deb`;
}

/**
 * `fioup-offline_<version>_<arch>.deb`, built with dpkg-deb from a tree laid out here: the binary, the man page,
 * the bash completion, the systemd units and the udev rule of the USB auto-install, the Debian docs, and maintainer
 * scripts that enable the after-reboot unit as dh_installsystemd would.
 */
export async function buildDeb(inputs: DebInputs, workDir: string, outDir: string): Promise<string> {
  const root = join(workDir, `deb-${inputs.debianArch}`);
  await rm(root, { recursive: true, force: true });
  const put = async (path: string, data: string | Buffer, mode = 0o644) => {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await writeFile(target, data);
    await chmod(target, mode);
  };
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  await copyFile(inputs.executable, join(root, 'usr/bin', DEB_PACKAGE));
  await chmod(join(root, 'usr/bin', DEB_PACKAGE), 0o755);
  await put(`usr/share/man/man1/${DEB_PACKAGE}.1.gz`, gzipSync(inputs.manPage, { level: 9 }));
  await put(`usr/share/bash-completion/completions/${DEB_PACKAGE}`, inputs.bashCompletion);
  await put(`usr/share/doc/${DEB_PACKAGE}/copyright`, await readFile(join(inputs.packagingDir, 'debian/copyright')));
  await put(`usr/share/doc/${DEB_PACKAGE}/changelog.gz`, gzipSync(changelog(inputs), { level: 9 }));
  await put(`usr/share/lintian/overrides/${DEB_PACKAGE}`, await readFile(join(inputs.packagingDir, 'debian/lintian-overrides')));
  for (const unit of UNITS) await put(`lib/systemd/system/${unit}`, await readFile(join(inputs.packagingDir, 'systemd', unit)));
  await put(`lib/udev/rules.d/${UDEV_RULE}`, await readFile(join(inputs.packagingDir, 'udev', UDEV_RULE)));

  const files = await listFiles(root);
  await put('DEBIAN/md5sums', (await Promise.all(files.map(async (file) => `${await md5(join(root, file))}  ${file}\n`))).join(''));
  for (const script of ['postinst', 'postrm']) await put(`DEBIAN/${script}`, await readFile(join(inputs.packagingDir, 'debian', script)), 0o755);
  await put('DEBIAN/control', await control(inputs, root, files));

  await mkdir(outDir, { recursive: true });
  const output = join(outDir, debFileName(inputs.info.version, inputs.debianArch));
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', root, output], { maxBuffer: 1 << 20 });
  return output;
}

async function control(inputs: DebInputs, root: string, files: readonly string[]): Promise<string> {
  let bytes = 0;
  for (const file of files) bytes += (await stat(join(root, file))).size;
  return [
    `Package: ${DEB_PACKAGE}`,
    `Version: ${inputs.info.version}`,
    `Architecture: ${inputs.debianArch}`,
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${Math.ceil(bytes / 1024)}`,
    // The Node.js runtime inside links these dynamically (official Node 20 builds need glibc 2.28).
    'Depends: libc6 (>= 2.28), libgcc-s1 (>= 4.2), libstdc++6 (>= 10)',
    'Recommends: docker.io (>= 20.10) | docker-ce, docker-compose (>= 2.25) | docker-compose-plugin | docker-compose-v2',
    'Suggests: ostree',
    'Section: admin',
    'Priority: optional',
    'Description: offline updates of Compose Apps from a USB drive',
    ' fioup-offline updates the Docker Compose Apps (and, on LmP devices, the OSTree',
    ' rootfs) of FoundriesFactory devices that never see a network, from a bundle',
    " on a USB drive, verifying it against the TUF trust the device already has. It",
    ' answers with aklite-offline\'s exit codes. Plugging in a drive starts the',
    ' update (udev rule and systemd units), and a report is written onto the drive.',
    ` .`,
    ` Built from commit ${inputs.info.commit}.`,
    '',
  ].join('\n');
}

function changelog(inputs: DebInputs): string {
  return [
    `${DEB_PACKAGE} (${inputs.info.version}) unstable; urgency=medium`,
    '',
    `  * Built from commit ${inputs.info.commit}.`,
    '',
    ` -- ${MAINTAINER}  ${rfc2822(inputs.date)}`,
    '',
  ].join('\n');
}

function rfc2822(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${days[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${months[date.getUTCMonth()]} ${date.getUTCFullYear()} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(root, join(entry.parentPath, entry.name))).filter((path) => !path.startsWith('DEBIAN/')).sort();
}

async function md5(path: string): Promise<string> {
  return createHash('md5').update(await readFile(path)).digest('hex');
}
