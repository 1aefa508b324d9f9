/**
 * The WebAssembly modules ship compiled (the `*-wasm.ts` files): each must be
 * what its text source compiles to (run `npm run build:wasm` after changing one).
 */
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileWat, WASM_SOURCES, wasmModuleText } from '../../scripts/build-wasm.js';

describe('WebAssembly modules', () => {
  for (const source of WASM_SOURCES) {
    test(`${path.basename(source.module)} is what ${path.basename(source.wat)} compiles to (npm run build:wasm)`, async () => {
      const binary = await compileWat(source.wat);
      assert.equal(readFileSync(source.module, 'utf8'), wasmModuleText(source, binary));
      const module = (await import(pathToFileURL(source.module).href)) as Record<string, string>;
      assert.deepEqual(Buffer.from(module[source.exportName]!, 'base64'), Buffer.from(binary));
    });
  }
});
