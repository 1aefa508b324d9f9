import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Read size for hashing and copying: 1 MiB beat the 64 KiB default by ~20% (notes/extraction.md §5.1). */
export const IO_BLOCK = 1024 * 1024;

/** A file's size and SHA-512. */
export interface FileDigest {
  bytes: number;
  /** Lowercase hex. */
  sha512: string;
}

/** SHA-512 and size of a file, read once in 1 MiB blocks. */
export async function digestFile(file: string): Promise<FileDigest> {
  const hash = createHash('sha512');
  const buffer = Buffer.allocUnsafe(IO_BLOCK);
  const handle = await open(file, 'r');
  let bytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, IO_BLOCK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { bytes, sha512: hash.digest('hex') };
}

/**
 * Copies `from` to a new file `to` (which must not exist), hashing the bytes as
 * they are read, then flushes `to` to disk. Answers the digest of what was read.
 */
export async function copyFileWithDigest(from: string, to: string): Promise<FileDigest> {
  const hash = createHash('sha512');
  const buffer = Buffer.allocUnsafe(IO_BLOCK);
  const input = await open(from, 'r');
  let bytes = 0;
  try {
    const output = await open(to, 'wx');
    try {
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, IO_BLOCK, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        let written = 0;
        while (written < bytesRead) {
          const { bytesWritten } = await output.write(buffer, written, bytesRead - written, null);
          written += bytesWritten;
        }
        bytes += bytesRead;
      }
      await output.sync();
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
  return { bytes, sha512: hash.digest('hex') };
}
