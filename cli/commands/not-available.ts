import { FioupError } from '../../lib/errors.js';

export function notAvailableYet(command: string): never {
  throw new FioupError(`'${command}' is not available in this build yet`);
}
