import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Read size for hashing and copying: 1 MiB beat the 64 KiB default (docs/performance.md, "Read size for hashing and copying"). */
export const IO_BLOCK = 1024 * 1024;

/** Opens for reading, never through a symbolic link (O_NOFOLLOW: a link at the last name is ELOOP). */
const READ = constants.O_RDONLY | constants.O_NOFOLLOW;
/** Creates a new file, never over an existing entry nor through a link. */
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** A file's size and SHA-512. */
export interface FileDigest {
  bytes: number;
  /** Lowercase hex. */
  sha512: string;
}

/** SHA-512 and size of an open file, read from its start in 1 MiB blocks. */
export async function digestHandle(handle: FileHandle): Promise<FileDigest> {
  const hash = createHash('sha512');
  const buffer = Buffer.allocUnsafe(IO_BLOCK);
  let bytes = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, IO_BLOCK, bytes);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    bytes += bytesRead;
  }
  return { bytes, sha512: hash.digest('hex') };
}

/** SHA-512 and size of a file (not through a link), read once in 1 MiB blocks. */
export async function digestFile(file: string): Promise<FileDigest> {
  const handle = await open(file, READ);
  try {
    return await digestHandle(handle);
  } finally {
    await handle.close();
  }
}

/**
 * Copies `from` to a new file `to` (which must not exist), hashing the bytes as
 * they are read, then flushes `to` to disk. Answers the digest of what was read.
 * Neither end is opened through a symbolic link.
 */
export async function copyFileWithDigest(from: string, to: string): Promise<FileDigest> {
  const hash = createHash('sha512');
  const buffer = Buffer.allocUnsafe(IO_BLOCK);
  const input = await open(from, READ);
  let bytes = 0;
  try {
    const output = await open(to, CREATE, 0o666);
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
