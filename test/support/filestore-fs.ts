/** Temporary folders and small file helpers for the filestore tests. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ColumnInfo } from '../../lib/connectors/connector.js';
import type { LogicalType } from '../../lib/types/logical.js';
import type { TableExtract } from '../../subgraphs/publish/src/destinations/filestore/formats/writer.js';
import { RECEIPTS } from '../../subgraphs/publish/src/destinations/filestore/publish.js';
import { chunkedStream, toCsv, type Field } from './csv-text.js';

/** A fresh folder under os.tmpdir(); `cleanup()` removes it. */
export async function tempFolder(prefix = 'cr8tor-fs-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A filestore mount with staging/ and production/. */
export async function tempMount(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempFolder('cr8tor-mount-');
  await mkdir(path.join(dir, 'staging'));
  await mkdir(path.join(dir, 'production'));
  return { root: dir, cleanup };
}

/** SHA-512 hex of a file, read in one go (independent of the code under test). */
export async function sha512Of(file: string): Promise<string> {
  return createHash('sha512').update(await readFile(file)).digest('hex');
}

/** Every entry under `dir`, relative, '/'-separated, sorted (folders end with '/'). */
export async function listTree(dir: string, prefix = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) out.push(`${rel}/`, ...(await listTree(path.join(dir, e.name), `${rel}/`)));
    else out.push(rel);
  }
  return out.sort();
}

/** ColumnInfo for a quick table: name → logical type. */
export function columns(spec: Record<string, LogicalType>, primaryKey: string[] = []): ColumnInfo[] {
  return Object.entries(spec).map(([name, logical], i) => ({
    name,
    description: null,
    datatype: logical.kind,
    nullable: !primaryKey.includes(name),
    position: i + 1,
    logical,
    primaryKey: primaryKey.includes(name) ? primaryKey.indexOf(name) + 1 : null,
  }));
}

/** A TableExtract streaming the given rows in random small chunks. */
export function tableOf(name: string, cols: ColumnInfo[], rows: readonly (readonly Field[])[], chunk = { max: 37, seed: 7 }): TableExtract {
  const text = toCsv(
    cols.map((c) => c.name),
    rows,
  );
  return { name, columns: cols, csv: () => chunkedStream(text, chunk) };
}

/**
 * Every entry under `dir` as lstat sees it (links are never followed), relative and sorted:
 * `{path} folder`, `{path} link -> {target}`, `{path} file {size} {inode} {sha512}`.
 * Two equal states mean nothing under `dir` was added, removed, replaced or changed by a byte.
 */
export async function treeState(dir: string, prefix = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of entries) {
    const full = path.join(dir, name);
    const rel = `${prefix}${name}`;
    const info = await lstat(full);
    if (info.isSymbolicLink()) out.push(`${rel} link -> ${await readlink(full)}`);
    else if (info.isDirectory()) out.push(`${rel} folder`, ...(await treeState(full, `${rel}/`)));
    else out.push(`${rel} file ${info.size} ${info.ino} ${await sha512Of(full)}`);
  }
  return out.sort();
}

/**
 * Waits until every answered publish on the mount has settled: a publish's
 * receipt (staging/.published/…) is removed just after its answer was
 * delivered, so a mount compared before and after a later call is steady only then.
 */
export async function publishSettled(mountDir: string, timeoutMs = 10_000): Promise<void> {
  const receipts = path.join(mountDir, 'staging', RECEIPTS);
  for (const started = Date.now(); existsSync(receipts); ) {
    if (Date.now() - started > timeoutMs) throw new Error(`staging/${RECEIPTS} still holds receipts after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
