import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { Medium } from '../medium/medium.js';
import { safeRelativePath } from '../medium/safe-path.js';

export interface LoopbackServer {
  /** Base URL, ending in `/`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the regular files under `directory` of a medium, read-only, on 127.0.0.1 (a port the kernel picks), so that
 * tools that need a URL (`ostree pull`) can read media that are archives. Paths go through the medium, which
 * confines them; anything it refuses or lacks is a 404.
 */
export async function serveMediumDirectory(medium: Medium, directory: string): Promise<LoopbackServer> {
  const server = createServer((request, response) => {
    respond(medium, directory, request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function respond(medium: Medium, directory: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const path = mediumPath(directory, request.url ?? '/');
  const entry = path === undefined ? undefined : await medium.stat(path).catch(() => undefined);
  if (!entry || entry.type !== 'file') {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': entry.size });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  await pipeline(await medium.open(entry.path), response);
}

function mediumPath(directory: string, url: string): string | undefined {
  try {
    const pathname = decodeURIComponent(new URL(url, 'http://127.0.0.1').pathname);
    return safeRelativePath(`${directory}/${pathname.replace(/^\/+/, '')}`);
  } catch {
    return undefined;
  }
}
