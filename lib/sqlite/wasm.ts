import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/**
 * The bytes of sql.js's SQLite build, read from node_modules. The self-contained executables have no node_modules:
 * their bundle step (scripts/package/bundle.ts) replaces this module with one that holds the bytes inline.
 */
export async function sqliteWasm(): Promise<Uint8Array> {
  return readFile(createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm'));
}
