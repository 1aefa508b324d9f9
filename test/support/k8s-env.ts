/**
 * Environment variables the manifests may set that are not settings of ours
 * (those are lib/config/settings' registry).
 */

/**
 * Variables read by Node.js itself rather than by our code: TMPDIR (os.tmpdir(),
 * the default working folder) and NODE_OPTIONS.
 */
export const RUNTIME_VARIABLES = new Set(['TMPDIR', 'NODE_OPTIONS']);
