import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import initSqlJs, { type Database, type SqlJsStatic } from 'sql.js';
import { DeviceStateError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { readRegularFile } from '../fs/device-files.js';
import { sqliteWasm } from './wasm.js';

export type { Database } from 'sql.js';

/**
 * SQLite database files of other programs (aktualizr-lite's sql.db), through sql.js: SQLite compiled to WebAssembly,
 * no native addon, so the cross-built executables carry it. sql.js works on a copy in memory: a read takes one
 * consistent snapshot of the file; a change is made in one transaction on a fresh copy, then the whole database is
 * written beside the file and renamed over it (write, fsync, rename, fsync of the directory), with the file's mode
 * and owner: a crash at any point leaves the old database or the new one. What sql.js cannot do is replay another
 * program's interrupted write (a hot `-journal`, or a `-wal` with pages not yet in the file), so such a file is
 * refused until SQLite itself has recovered it. Writers hold aktualizr-lite's lock (/var/lock/aklite.lock), which
 * aktualizr-lite holds all the time it runs: the rename never races one of its writes.
 */
export class SqliteFile {
  constructor(readonly path: string, private readonly maxBytes = MAX_DATABASE_BYTES) {}

  async exists(): Promise<boolean> {
    return (await stat(this.path).catch(() => undefined)) !== undefined;
  }

  /** A snapshot to read; undefined when there is no such file. */
  async read(): Promise<Database | undefined> {
    const bytes = await this.bytes();
    return bytes && (await this.open(bytes));
  }

  /** Runs `change` in one transaction on the current content and makes the result the file, atomically. */
  async update<T>(change: (db: Database) => T): Promise<T> {
    const bytes = await this.bytes();
    if (!bytes) throw new DeviceStateError(`${this.path} went away`);
    const db = await this.open(bytes);
    try {
      db.run('BEGIN');
      const result = change(db);
      db.run('COMMIT');
      const info = await stat(this.path);
      await writeFileAtomic(this.path, db.export(), info.mode & 0o7777, { uid: info.uid, gid: info.gid });
      return result;
    } finally {
      db.close();
    }
  }

  private async bytes(): Promise<Uint8Array | undefined> {
    await this.requireNoInterruptedWrite();
    const bytes = await readRegularFile(this.path, { what: 'database', maxBytes: this.maxBytes });
    if (bytes && !bytes.subarray(0, SQLITE_HEADER.length).equals(SQLITE_HEADER)) throw new DeviceStateError(`${this.path} is not an SQLite database`);
    return bytes;
  }

  private async open(bytes: Uint8Array): Promise<Database> {
    try {
      return new (await sqlJs()).Database(bytes);
    } catch (error) {
      throw new DeviceStateError(`${this.path} cannot be read as an SQLite database: ${(error as Error).message}`);
    }
  }

  /** A rollback journal with a live header, or a WAL file with content: a write of another program was cut short. */
  private async requireNoInterruptedWrite(): Promise<void> {
    const journal = await leadingBytes(`${this.path}-journal`, JOURNAL_MAGIC.length);
    const wal = await stat(`${this.path}-wal`).catch(() => undefined);
    if ((journal && journal.equals(JOURNAL_MAGIC)) || (wal && wal.size > 0)) {
      throw new DeviceStateError(`${this.path}: a write to it was interrupted (${journal ? `${this.path}-journal` : `${this.path}-wal`} is left beside it), ` +
        `and only SQLite can finish or undo it: start aktualizr-lite once (systemctl start aktualizr-lite, then stop it), or run ` +
        `sqlite3 ${this.path} 'PRAGMA integrity_check', then try again. Nothing was changed in ${dirname(this.path)}`);
    }
  }
}

/** aktualizr-lite's sql.db is kilobytes to a few megabytes (its targets metadata); this bounds a damaged one. */
const MAX_DATABASE_BYTES = 256 << 20;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** The first bytes of a rollback journal that still has to be played back (sqlite's pager.c aJournalMagic). */
const JOURNAL_MAGIC = Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);

async function leadingBytes(path: string, count: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

let engine: Promise<SqlJsStatic> | undefined;

function sqlJs(): Promise<SqlJsStatic> {
  engine ??= sqliteWasm().then((wasmBinary) => initSqlJs({ wasmBinary: wasmBinary as unknown as ArrayBuffer }));
  return engine;
}
