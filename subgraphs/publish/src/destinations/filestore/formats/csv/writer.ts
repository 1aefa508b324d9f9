import { rename } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../../../../../lib/errors.js';
import { isRowAligned } from '../../../../../../../lib/connectors/csv-rows.js';
import { openCsvStream, RowScanner } from './scan.js';
import type { FileDigest } from '../../digest.js';
import type { FilestoreWriter, TableExtract, WriterOutput, WrittenFile } from '../writer.js';
import { partFileName, tableFileBases } from '../file-names.js';
import { FileSink } from '../file-sink.js';
import type { CsvWriterOptions } from '../../settings.js';

const NEWLINE = 0x0a;

/**
 * Writes each table as CSV files, copying the extraction's bytes as they are
 * (the canonical text form is already the CSV researchers receive), hashing
 * them inline.
 *
 * Naming (formats/file-names.ts): a table that fits in one file is `{base}.csv`; a
 * table that needs more is `{base}.part0001.csv`, `{base}.part0002.csv`, …
 * (the first file is renamed when the second is opened). With compression on,
 * `.csv.gz`, each part a complete gzip file.
 *
 * Rotation: a file is closed at the first row end at or after
 * `maxFileBytes` CSV bytes (header included, counted before compression), so
 * a file holds at most `maxFileBytes` plus one row; every file starts with the
 * header row; no row is ever split. Quotes are only tracked when rotation is on,
 * and, from a source whose chunks end at row ends ({@link isRowAligned}), only
 * in the chunk a file ends in (a chunk starts outside quotes).
 * A full file is flushed to disk while the next one is written (its fsync
 * overlaps the extraction instead of holding it up); the table is written once
 * every file is on disk.
 */
export class CsvWriter implements FilestoreWriter {
  readonly format = 'csv' as const;

  constructor(private readonly options: CsvWriterOptions) {}

  private get ext(): string {
    return this.options.gzipLevel == null ? '.csv' : '.csv.gz';
  }

  async write(tables: readonly TableExtract[], outputsDir: string): Promise<WriterOutput> {
    const bases = tableFileBases(tables.map((t) => t.name));
    const files: WrittenFile[] = [];
    const warnings: string[] = [];
    for (const table of tables) {
      const base = bases.get(table.name)!;
      if (base !== table.name) {
        warnings.push(`Table '${table.name}' is written as '${base}${this.ext}': its name is not a safe, distinct file name as it stands.`);
      }
      files.push(...(await this.writeTable(table, base, outputsDir)));
      table.written?.();
    }
    return { files, warnings };
  }

  private async writeTable(table: TableExtract, base: string, dir: string): Promise<WrittenFile[]> {
    const { maxFileBytes, gzipLevel } = this.options;
    const rotate = Number.isFinite(maxFileBytes);
    const parts: { name: string; created: Promise<void>; digest: Promise<FileDigest> }[] = [];
    let sink: FileSink | undefined;
    const source = table.csv();
    try {
      const { header, body } = await openCsvStream(source, table.name, table.columns.map((c) => c.name));

      const openPart = async (): Promise<FileSink> => {
        const part = parts.length + 1;
        if (part === 2) {
          // The first file may still be closing, or not even created yet: renamed once it exists.
          await parts[0]!.created;
          const first = partFileName(base, 1, this.ext);
          await rename(path.join(dir, parts[0]!.name), path.join(dir, first));
          parts[0]!.name = first;
        }
        const name = part === 1 ? `${base}${this.ext}` : partFileName(base, part, this.ext);
        const opened = new FileSink(path.join(dir, name), { gzipLevel });
        sink = opened;
        await opened.write(header);
        return opened;
      };
      /** Ends the file; it is flushed to disk while the next is written (awaited with the table). */
      const closePart = (current: FileSink): void => {
        sink = undefined;
        const digest = current.close();
        digest.catch(() => undefined); // awaited below, with every part's
        parts.push({ name: path.basename(current.file), created: current.created, digest });
      };

      const scanner = new RowScanner();
      await openPart(); // eagerly: a table without rows still gets its file, holding the header
      let full = false; // the current file reached the limit: close it at the next row end
      let lastByte = header[header.length - 1];
      // Chunks end at row ends: one that fits in the file leaves the quote state as it was (outside).
      // A chunk that does not end with LF ends the trust; the state is right up to its start.
      let aligned = rotate && isRowAligned(source);
      for await (const chunk of body) {
        if (aligned && chunk[chunk.length - 1] !== NEWLINE) aligned = false;
        let buf = chunk;
        while (buf.length > 0) {
          const current = sink ?? (await openPart());
          if (!rotate) {
            await current.write(buf);
            break;
          }
          if (!full) {
            const room = maxFileBytes - current.written;
            if (buf.length < room) {
              if (!aligned) scanner.skip(buf);
              await current.write(buf);
              lastByte = buf[buf.length - 1];
              break;
            }
            const head = buf.subarray(0, Math.max(room, 0));
            if (head.length > 0) {
              scanner.skip(head);
              await current.write(head);
              lastByte = head[head.length - 1];
              buf = buf.subarray(head.length);
            }
            full = true;
            const hasRows = current.written > header.length;
            if (hasRows && !scanner.inQuotes && lastByte === NEWLINE) {
              closePart(current);
              full = false;
            }
            continue;
          }
          const end = scanner.findRowEnd(buf);
          if (end < 0) {
            await current.write(buf);
            break;
          }
          await current.write(buf.subarray(0, end));
          buf = buf.subarray(end);
          closePart(current);
          full = false;
        }
      }
      if (rotate && scanner.inQuotes) {
        throw new AppError('INTERNAL', `The CSV stream of table '${table.name}' ended inside a quoted field.`);
      }
      if (sink) closePart(sink);
      const digests = await Promise.all(parts.map((p) => p.digest));
      return parts.map(({ name }, i) => ({ name, table: table.name, bytes: digests[i]!.bytes, sha512: digests[i]!.sha512 }));
    } catch (error) {
      await sink?.abort();
      // Files still being flushed are closed before the caller removes the folder.
      await Promise.allSettled(parts.map((p) => p.digest));
      throw error;
    } finally {
      source.destroy();
    }
  }
}
