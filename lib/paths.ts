import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder (the one holding package.json), whether run from sources or from dist/. */
export const projectRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('Cannot find the project root (no package.json above this file).');
    dir = parent;
  }
  return dir;
})();

/** A path inside the project, e.g. `fromRoot('schema', 'metadata.graphql')`. */
export function fromRoot(...parts: string[]): string {
  return path.join(projectRoot, ...parts);
}
