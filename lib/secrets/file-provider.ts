import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';
import type { SecretProvider } from './provider.js';
import { assertSecretName } from './secret-name.js';

/**
 * Secrets as files, one per name, in one folder: how the Azure Key Vault CSI driver
 * mounts them in Kubernetes and how a developer writes them by hand. A single
 * trailing newline (an editor's) is not part of the value. Messages name the
 * secret, never the folder: its path goes to the log through the error's cause.
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
      const cause = new Error(`${file}: ${code ?? 'error'}`, { cause: error });
      if (code === 'ENOENT' || code === 'EISDIR') {
        throw new AppError('SECRET_NOT_FOUND', `Secret '${name}' not found in the secret store.`, { cause });
      }
      throw new AppError('SECRET_STORE_FAILED', `Secret '${name}' could not be read from the secret store (${code ?? 'error'}).`, { cause });
    }
    return raw.replace(/\r?\n$/, '');
  }

  /** Readiness: reads the named secret's file now; a missing or unreadable one makes the store not ready. */
  async check(name: string): Promise<void> {
    try {
      await this.get(name);
    } catch (error) {
      if (error instanceof AppError && error.code === 'SECRET_NOT_FOUND') {
        throw new AppError('SECRET_STORE_FAILED', `Secret '${name}', which this service reads, is not in the secret store.`, { cause: error.cause });
      }
      throw error;
    }
  }
}
