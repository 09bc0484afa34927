import { execFile } from 'node:child_process';
import { OstreeCommandError } from '../errors.js';

// libcurl honours these: a proxy must never see the loopback pull of the medium's repo.
const proxyVariables = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'];

/** Runs `ostree` with `args` (no shell) and returns its stdout. */
export function ostree(args: readonly string[]): Promise<string> {
  const env = { ...process.env };
  for (const name of proxyVariables) delete env[name];
  return new Promise((resolve, reject) => {
    execFile('ostree', args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new OstreeCommandError(args, stderr.trim(), error));
      else resolve(stdout);
    });
  });
}
