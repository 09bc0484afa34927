import type { HistoryEntry, TargetRef } from '../device/history.js';
import type { ReportResult, UpdateReport } from './report.js';

const HEADLINES: Record<ReportResult, string> = {
  'updated': 'UPDATED',
  'up-to-date': 'UP TO DATE: nothing newer to install',
  'reboot-scheduled': 'INSTALLED: the device reboots to finish the update',
  'rolled-back': 'FAILED AND ROLLED BACK',
  'refused': 'REFUSED: nothing was changed',
  'failed': 'FAILED',
};

/** The short `.txt` beside each report: what a technician reads on the spot. */
export function renderReportText(report: UpdateReport): string {
  const { device } = report;
  const lines = [
    `fioup-offline update report: ${HEADLINES[report.result]}`,
    '',
    `device:          ${device.hardwareId}, ${device.deviceId ? `device ${device.deviceId}, ` : ''}host ${device.hostname} (${device.deviceType}, tags ${device.tags.join(', ') || '-'})`,
    `medium:          ${report.medium ?? '(none: finished after the reboot)'}`,
    `time:            ${report.startedAt} to ${report.finishedAt} (${formatDuration(report.durationMs)})`,
    `exit code:       ${report.exitCode}: ${report.exitMeaning}`,
    `previous target: ${describeTarget(report.previousTarget)}`,
    `new target:      ${describeTarget(report.newTarget)}`,
    `current target:  ${describeTarget(report.currentTarget)}${report.pendingTarget ? `; ${describeTarget(report.pendingTarget)} waits for the reboot` : ''}`,
    '',
    'steps:',
    ...(report.steps.length ? report.steps.map((step) => `  ${describeEntry(step)}: ${step.meaning}`) : ['  (none)']),
    '',
    'apps:',
    ...(report.apps.length ? report.apps.map((app) => `  ${app.name.padEnd(20)} ${app.state}`) : ['  (none)']),
  ];
  if (report.errors.length) {
    lines.push('', 'errors:');
    for (const error of report.errors) {
      lines.push(`  ${error.command}: ${error.message}`);
      if (error.logTail) lines.push(...error.logTail.split('\n').map((line) => `    | ${line}`));
      if (error.fix) lines.push(`    fix: ${error.fix}`);
    }
  }
  if (report.earlierUpdates.length) lines.push('', 'earlier updates (newest first):', ...report.earlierUpdates.map((entry) => `  ${describeEntry(entry)}`));
  return `${lines.join('\n')}\n`;
}

function describeTarget(target: TargetRef | null): string {
  return target ? `${target.name} (version ${target.version})` : '(none)';
}

function describeEntry(entry: HistoryEntry): string {
  return `${entry.startedAt}  ${entry.command.padEnd(7)} ${entry.target?.name ?? '(no target)'}  ${entry.result}, exit ${entry.exitCode}, ${formatDuration(entry.durationMs)}`;
}

function formatDuration(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
