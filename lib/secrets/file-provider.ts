import { readFile, access, constants } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';
import type { SecretProvider } from './provider.js';
import { assertSecretName } from './secret-name.js';

/**
 * Secrets as files, one per name, in one folder: how the Azure Key Vault CSI driver
 * mounts them in Kubernetes and how a developer writes them by hand. A single
 * trailing newline (an editor's) is not part of the value.
 */
export class FileSecretProvider implements SecretProvider {
  readonly description: string;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.description = `secret files in ${this.dir}`;
  }

  async get(name: string): Promise<string> {
    assertSecretName(name);
    // The name is checked above, so the join cannot leave the folder; keep the check anyway.
    const file = path.join(this.dir, name);
    if (path.dirname(file) !== this.dir) throw new AppError('INVALID_REQUEST', 'Invalid secret name.');
    let raw: string;
    try {
      raw = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') {
        throw new AppError('SECRET_NOT_FOUND', `Secret '${name}' not found in ${this.description}.`);
      }
      throw new AppError('SECRET_STORE_FAILED', `Secret '${name}' could not be read from ${this.description} (${code ?? 'error'}).`, { cause: error });
    }
    return raw.replace(/\r?\n$/, '');
  }

  async check(): Promise<void> {
    try {
      await access(this.dir, constants.R_OK | constants.X_OK);
    } catch (error) {
      throw new AppError('SECRET_STORE_FAILED', `The secrets folder ${this.dir} cannot be read.`, { cause: error });
    }
  }
}
