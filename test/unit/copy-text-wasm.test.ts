/**
 * The COPY text → CSV loop ships compiled (lib/connectors/postgresql/copy-text-wasm.ts):
 * it must be what its source, copy-text.wat, compiles to (run `npm run build:wasm`
 * after changing the source).
 */
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCopyText, WASM_MODULE_FILE, wasmModuleText } from '../../scripts/build-wasm.js';
import { COPY_TEXT_WASM } from '../../lib/connectors/postgresql/copy-text-wasm.js';

describe('copy-text.wat', () => {
  test('copy-text-wasm.ts is what copy-text.wat compiles to (npm run build:wasm)', async () => {
    const binary = await compileCopyText();
    assert.equal(readFileSync(WASM_MODULE_FILE, 'utf8'), wasmModuleText(binary));
    assert.deepEqual(Buffer.from(COPY_TEXT_WASM, 'base64'), Buffer.from(binary));
  });
});
