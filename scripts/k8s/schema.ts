/**
 * Offline validation of rendered Kubernetes objects against the Kubernetes
 * OpenAPI schemas, in two passes that together match `kubeconform -strict`:
 *
 * 1. kubernetes-models (generated from the Kubernetes OpenAPI document) validates
 *    each built-in object with its compiled JSON-schema validator: required
 *    fields, types, enums and formats.
 * 2. The same package's TypeScript declarations, generated from the same
 *    document, catch what JSON schema lets through because the OpenAPI document
 *    does not close its objects: unknown and misspelt fields. Each object is
 *    type-checked as an object literal of its kind's interface, so an excess
 *    property is a compile error. Custom resources are checked against the
 *    hand-written types in crd-types.ts.
 *
 * No network: both passes read only node_modules.
 */
import path from 'node:path';
import ts from 'typescript';
import { fromRoot } from '../../lib/paths.js';
import { ref, type K8sObject } from './render.js';

/** Custom resources: apiVersion → module (relative to scripts/k8s) exporting `I{Kind}`. */
const CUSTOM_RESOURCE_TYPES: Record<string, string> = {
  'secrets-store.csi.x-k8s.io/v1': './crd-types.js',
};

/** The kubernetes-models module of a built-in kind, e.g. `kubernetes-models/apps/v1/Deployment`. */
function modelModule(object: K8sObject): string {
  return `kubernetes-models/${object.apiVersion}/${object.kind}`;
}

function isCustomResource(object: K8sObject): boolean {
  return object.apiVersion in CUSTOM_RESOURCE_TYPES;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Pass 1: each built-in object against its kind's JSON schema. Returns one problem per failing object. */
export async function validateWithOpenApiSchemas(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const object of objects) {
    if (isCustomResource(object)) continue;
    let Model: ModelClass | undefined;
    try {
      const module = (await import(modelModule(object))) as Record<string, ModelClass>;
      Model = module[object.kind];
    } catch {
      Model = undefined;
    }
    if (!Model) {
      problems.push(`${ref(object)}: no schema for ${object.apiVersion} ${object.kind} in kubernetes-models (a removed or misspelt API version?)`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${ref(object)}: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** Pass 2: every object as an object literal of its kind's TypeScript interface. Returns one problem per diagnostic. */
export function typeCheckObjects(objects: readonly K8sObject[]): string[] {
  const virtualFile = fromRoot('scripts', 'k8s', '__rendered-manifests__.ts');
  const imports: string[] = [];
  const statements: string[] = [];
  const starts: Array<{ line: number; object: K8sObject }> = [];
  const typeAliases = new Map<string, string>();
  for (const object of objects) {
    const module = CUSTOM_RESOURCE_TYPES[object.apiVersion] ?? modelModule(object);
    const key = `${module}#${object.kind}`;
    let alias = typeAliases.get(key);
    if (!alias) {
      alias = `T${typeAliases.size}`;
      typeAliases.set(key, alias);
      imports.push(`import type { I${object.kind} as ${alias} } from ${JSON.stringify(module)};`);
    }
    const body = JSON.stringify(object, null, 2);
    starts.push({ line: 0, object });
    statements.push(`export const o${statements.length}: ${alias} = ${body};`);
  }
  let line = imports.length;
  for (const [index, statement] of statements.entries()) {
    starts[index]!.line = line;
    line += statement.split('\n').length;
  }
  const text = [...imports, ...statements].join('\n');

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => path.resolve(file) === virtualFile || fileExists.call(host, file);
  host.readFile = (file) => (path.resolve(file) === virtualFile ? text : readFile.call(host, file));
  host.getSourceFile = (file, languageVersion, onError, shouldCreate) =>
    path.resolve(file) === virtualFile ? ts.createSourceFile(file, text, languageVersion, true) : getSourceFile.call(host, file, languageVersion, onError, shouldCreate);

  const program = ts.createProgram([virtualFile], options, host);
  const source = program.getSourceFile(virtualFile)!;
  const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
  const lines = text.split('\n');
  return diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.start === undefined) return message;
    const at = source.getLineAndCharacterOfPosition(diagnostic.start).line;
    const owner = [...starts].reverse().find((s) => s.line <= at);
    const where = owner ? `${ref(owner.object)} near \`${lines[at]!.trim()}\`` : `line ${at + 1}`;
    return `${where}: ${message}`;
  });
}
