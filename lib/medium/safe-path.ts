import { UnsafePathError } from '../errors.js';

/**
 * Checks a relative path that came from the medium or from metadata on it, and returns it normalised
 * (forward slashes, no `.` components, no trailing slash). Refuses anything that could leave its directory
 * or confuse a file system: absolute paths, `..`, empty components, NUL and other control characters, backslashes.
 */
export function safeRelativePath(path: string, what = 'path'): string {
  if (typeof path !== 'string' || path.length === 0) throw new UnsafePathError(`${what} is empty`);
  if (path.length > 4096) throw new UnsafePathError(`${what} is longer than 4096 characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw new UnsafePathError(`${what} ${JSON.stringify(path)} has control characters or backslashes`);
  if (path.startsWith('/')) throw new UnsafePathError(`${what} ${JSON.stringify(path)} is absolute`);
  const parts = path.split('/').filter((part, index, all) => !(part === '' && index === all.length - 1) && part !== '.');
  for (const part of parts) {
    if (part === '') throw new UnsafePathError(`${what} ${JSON.stringify(path)} has an empty component`);
    if (part === '..') throw new UnsafePathError(`${what} ${JSON.stringify(path)} climbs out with '..'`);
  }
  if (parts.length === 0) throw new UnsafePathError(`${what} ${JSON.stringify(path)} names no file`);
  return parts.join('/');
}

/** Checks one path component (an app name, a target name used as a file name...). */
export function safePathComponent(name: string, what = 'name'): string {
  const safe = safeRelativePath(name, what);
  if (safe.includes('/')) throw new UnsafePathError(`${what} ${JSON.stringify(name)} must not contain '/'`);
  return safe;
}
