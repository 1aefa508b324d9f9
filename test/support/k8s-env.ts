/**
 * What the code and the documentation say about environment variables, so the
 * manifests can be checked against them: the names the services read (found in
 * their sources) and the names the settings tables document.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fromRoot } from '../../lib/paths.js';
import { StorageMounts } from '../../subgraphs/publish/src/destinations/filestore/mount/mounts.js';

/** Folders holding the services' code (what the image runs). */
const SOURCE_FOLDERS = ['lib', 'gateway/src', 'subgraphs/metadata/src', 'subgraphs/publish/src'];

/**
 * Variables read by Node.js itself rather than by our code: TMPDIR (os.tmpdir(),
 * the default working folder) and NODE_OPTIONS.
 */
export const RUNTIME_VARIABLES = new Set(['TMPDIR', 'NODE_OPTIONS']);

function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(fromRoot(folder), { withFileTypes: true })) {
    const relative = path.join(folder, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(relative));
    else if (entry.name.endsWith('.ts')) out.push(relative);
  }
  return out;
}

/**
 * Every environment variable name the services' code reads: the keys of the
 * setting shapes given to readEnv (`NAME: setting.…` or `NAME: z.…`) and
 * `process.env.NAME` references.
 */
export function variablesReadByCode(): Set<string> {
  const names = new Set<string>();
  const shapeKey = /^\s*([A-Z][A-Z0-9_]*[A-Z0-9])\s*:\s*(?:setting|z)\./gm;
  const processEnv = /process\.env(?:\.([A-Z][A-Z0-9_]*)|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])/g;
  for (const folder of SOURCE_FOLDERS) {
    for (const file of sourceFiles(folder)) {
      const text = readFileSync(fromRoot(file), 'utf8');
      for (const m of text.matchAll(shapeKey)) names.add(m[1]!);
      for (const m of text.matchAll(processEnv)) names.add((m[1] ?? m[2])!);
    }
  }
  return names;
}

/** Whether a name is a filestore destination's mount variable, as the publish service parses them. */
export function isDestinationMountVariable(name: string): boolean {
  return new StorageMounts({ [name]: '/x' }).names().length === 1;
}

/** A documented variable (or family of them) and the services the table says read it. */
export interface DocumentedVariable {
  pattern: RegExp;
  /** Service names from the table's second column; `all` stands for every service. */
  services: Set<string>;
}

/**
 * The variables documented in the settings tables of the given Markdown files
 * (`| variable | service | default | meaning |`): every backticked upper-case
 * name in a row's first cell, with the services of its second cell. `{NAME}` in
 * a documented name stands for any destination name.
 */
export function documentedVariables(files: readonly string[]): DocumentedVariable[] {
  const out: DocumentedVariable[] = [];
  for (const file of files) {
    for (const line of readFileSync(fromRoot(file), 'utf8').split('\n')) {
      const cells = /^\|([^|]*)\|([^|]*)\|/.exec(line);
      if (!cells) continue;
      const services = new Set(cells[2]!.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''));
      for (const m of cells[1]!.matchAll(/`([A-Z][A-Z0-9_{}]*)`/g)) {
        const source = m[1]!
          .split(/\{[A-Z]+\}/)
          .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
          .join('[A-Z0-9_]+');
        out.push({ pattern: new RegExp(`^${source}$`), services });
      }
    }
  }
  return out;
}

/** The services documented as reading a variable (empty when it is not documented). */
export function documentedServices(documented: readonly DocumentedVariable[], name: string): Set<string> {
  const services = new Set<string>();
  for (const d of documented) if (d.pattern.test(name)) for (const s of d.services) services.add(s);
  return services;
}
