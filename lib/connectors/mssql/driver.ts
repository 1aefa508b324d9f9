/**
 * The `tedious` release this Node.js runs: 20.x on Node.js 22 and later (the
 * production image's Node.js LTS), 19.2.2, the last release for Node.js 20,
 * on Node.js 20 (this repository's machines and CI).
 *
 * One driver would do, but neither runs right on both: tedious 20 needs
 * Node.js 22, and tedious 19 passes the server's address as the TLS server
 * name (SNI) even when it is an IP address, which Node.js 26 refuses
 * (`ERR_INVALID_ARG_VALUE`, DEP0123 turned into an error): on the image's
 * Node.js, every SQL Server source given by IP address would fail to connect.
 * tedious 20 leaves SNI out for an IP address and verifies the certificate
 * against the address itself. Both are pinned in package.json: `tedious` a
 * dependency, its alias `tedious20` an optional one, because npm then installs
 * it only on a Node.js its `engines` allows (22 and later: the image's build)
 * and, on Node.js 20, skips it without a warning. Their APIs agree on
 * everything used here.
 */
import type * as Tedious from 'tedious';

/** The Node.js major version from which tedious 20 is used. */
export const TEDIOUS_20_FROM_NODE = 22;

/** The package name of the tedious release for a Node.js version (`process.versions.node`). */
export function tediousPackage(nodeVersion: string = process.versions.node): 'tedious' | 'tedious20' {
  return Number(nodeVersion.split('.')[0]) >= TEDIOUS_20_FROM_NODE ? 'tedious20' : 'tedious';
}

/**
 * Where the driver for this Node.js is installed. Missing, it is tedious 20 on
 * a Node.js 22 or later whose node_modules were installed by the Node.js 20
 * npm, which leaves the optional `tedious20` out: said so at start-up, with the fix.
 */
function driverLocation(name: string): string {
  try {
    return import.meta.resolve(name);
  } catch (error) {
    if (name !== 'tedious20' || (error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error(
      `The SQL Server driver for Node.js ${TEDIOUS_20_FROM_NODE} and later, tedious 20 (package.json optionalDependencies: tedious20), ` +
        `is not installed: npm installs it only when npm itself runs on Node.js ${TEDIOUS_20_FROM_NODE} or later. ` +
        `Run \`npm ci\` with this Node.js (${process.version}).`,
      { cause: error },
    );
  }
}

// The types are tedious 19's, the same API for both releases.
const tedious = (await import(driverLocation(tediousPackage()))) as typeof Tedious;

export const { Connection, Request, TYPES } = tedious;
export type Connection = Tedious.Connection;
