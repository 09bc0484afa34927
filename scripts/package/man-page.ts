import { cliParser, PROGRAM, SUMMARY } from '../../cli/parser.js';
import type { BuildInfo } from '../../lib/build-info.js';
import { exitMeanings } from '../../lib/report/exit-meanings.js';

/** The man page's width for the help text, so that `man` at 80 columns shows it without breaking lines. */
const HELP_WIDTH = 74;

/**
 * fioup-offline(1), from the same yargs definitions as `--help`: the help of the program and of every command,
 * found by walking the "Commands:" sections; the exit codes from the table the reports use.
 */
export async function renderManPage(info: BuildInfo, date: string): Promise<string> {
  const sections = [
    `.TH FIOUP\\-OFFLINE 1 "${date}" "${PROGRAM} ${escape(info.version)}" "User Commands"`,
    '.SH NAME',
    `${PROGRAM} \\- ${escape(SUMMARY.replace(/\.$/, '').replace(/^./, (letter) => letter.toLowerCase()))}`,
    '.SH SYNOPSIS',
    `.B ${PROGRAM}`,
    '.I command',
    '.RI [ options ]',
    '.SH DESCRIPTION',
    'On the host, \\fBbundle\\-create\\fR turns what \\fBfioctl targets offline\\-update\\fR downloaded into a checked bundle on a',
    'USB drive. On the device, \\fBcheck\\fR, \\fBinstall\\fR and \\fBrun\\fR verify the drive\'s TUF metadata against the trust the',
    'device already has, install the target meant for the device and switch to it, answering with aklite\\-offline\'s exit',
    'codes; \\fBauto\\fR does all of it for the USB auto\\-install unit and writes a report onto the drive.',
    '.SH COMMANDS',
  ];
  for (const path of await commandPaths([])) {
    sections.push(`.SS "${[PROGRAM, ...path].join(' ')}"`, '.nf', ...(await helpOf(path)).trimEnd().split('\n').map(escapeLine), '.fi');
  }
  sections.push(
    '.SH USB AUTO\\-INSTALL',
    'The package installs a udev rule that starts \\fBfioup\\-offline\\-usb@<partition>.service\\fR when a USB drive with a',
    'filesystem appears. The unit mounts it under \\fI/run/fioup\\-offline/usb/\\fR, runs \\fBfioup\\-offline auto \\-\\-src\\-dir\\fR',
    'on it and unmounts it; it stops aktualizr\\-lite and fioup while it runs, and survives a restart of docker. A rootfs',
    'update reboots the device; \\fBfioup\\-offline\\-finish.service\\fR runs the update after the reboot. After every update',
    'a report goes onto the drive: \\fIfioup\\-offline\\-reports/<hardware id>\\-<device id or host>/<UTC time>.json\\fR and a',
    '\\fI.txt\\fR beside it. \\fBbundle inspect\\fR lists the reports found on a drive. Logs: \\fBjournalctl \\-t fioup\\-offline\\fR.',
    '.SH EXIT STATUS',
  );
  for (const [code, { meaning }] of Object.entries(exitMeanings)) sections.push('.TP', `.B ${code}`, escape(meaning));
  sections.push(
    '.SH FILES',
    '.TP', '.I /usr/lib/sota/conf.d/*.toml, /var/sota/sota.toml, /etc/sota/conf.d/*.toml',
    "aktualizr\\-lite's configuration, read in that order (or the \\fB\\-\\-config\\fR paths).",
    '.TP', '.I /var/sota/fioup\\-offline/',
    'the installation state, the update history (\\fBstatus\\fR shows it) and the device lock.',
    '.SH SEE ALSO',
    '.BR aktualizr\\-lite (1),',
    '.BR docker (1)',
    '',
  );
  return sections.join('\n');
}

/** `path` and every command path under it, depth first, from the "Commands:" sections of the help. */
async function commandPaths(path: readonly string[]): Promise<string[][]> {
  const help = await helpOf(path);
  const section = help.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? '';
  const prefix = [PROGRAM, ...path].join(' ');
  const names = [...section.matchAll(new RegExp(`^ {2}${escapeRegExp(prefix)} ([a-z][a-z-]*)`, 'gm'))].map((match) => match[1]!);
  const paths: string[][] = [[...path]];
  for (const name of names) paths.push(...(await commandPaths([...path, name])));
  return paths;
}

function helpOf(path: readonly string[]): Promise<string> {
  const args = [...path, '--help'];
  const parser = cliParser(args, HELP_WIDTH).exitProcess(false);
  return new Promise((resolve, reject) => {
    void parser.parse(args, {}, (error: Error | undefined, _argv: unknown, output: string) => (error ? reject(error) : resolve(output)));
  });
}

function escape(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
}

function escapeLine(line: string): string {
  const escaped = escape(line);
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
