/**
 * Loading the project's WebAssembly modules (the `.wat` files beside the code
 * that uses them, compiled into `*-wasm.ts` by `npm run build:wasm`): each
 * compiled once per process, instantiated once per user, with its own memory.
 */

/** A module's exported memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The part of the WebAssembly API used here (@types/node 20 does not declare it; Node has it). */
interface WebAssemblyApi {
  Module: new (binary: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

const compiled = new Map<string, object>();

/** A new instance of the module `base64` holds (no imports); its exports, typed by the caller. */
export function instantiate<Exports>(base64: string): Exports {
  let module = compiled.get(base64);
  if (!module) {
    module = new wasm.Module(Buffer.from(base64, 'base64'));
    compiled.set(base64, module);
  }
  return new wasm.Instance(module, {}).exports as Exports;
}

const PAGE = 65536;
/** The most pages a wasm32 memory holds (4 GiB). */
const MAX_PAGES = 65536;

/**
 * Grows `memory` to at least `size` bytes, at least twofold (so that sizes
 * creeping up do not grow it every call), and answers a view of the whole
 * memory as it now is (growth detaches the views made before it); null when it
 * cannot grow (over 4 GiB, or refused).
 */
export function reserve(memory: WasmMemory, size: number): Uint8Array | null {
  const have = memory.buffer.byteLength / PAGE;
  const need = Math.ceil(size / PAGE);
  if (need > have) {
    if (need > MAX_PAGES) return null;
    try {
      memory.grow(Math.min(MAX_PAGES, Math.max(need, 2 * have)) - have);
    } catch {
      return null;
    }
  }
  return new Uint8Array(memory.buffer);
}
