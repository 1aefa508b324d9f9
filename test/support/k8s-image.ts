/**
 * What the Dockerfile's final stage tells the manifests: the user the process
 * runs as, its working folder, its entry point and what is copied into it.
 * A small reader for the instructions this Dockerfile uses, not a full parser.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fromRoot } from '../../lib/paths.js';

export interface RuntimeStage {
  /** The base image reference as written (may name a build argument). */
  from: string;
  /** `USER uid[:gid]`, as numbers. */
  uid: number;
  gid: number | undefined;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  /** Destination paths of every COPY, resolved against the working folder. */
  copied: string[];
}

/** Instructions with their arguments, continuation lines joined and comments dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`Not an exec-form list: ${args}`);
  return parsed as string[];
}

/** The final stage of the project's Dockerfile. */
export function runtimeStage(file = fromRoot('Dockerfile')): RuntimeStage {
  const all = instructions(readFileSync(file, 'utf8'));
  const lastFrom = all.map((i) => i.op).lastIndexOf('FROM');
  if (lastFrom < 0) throw new Error('The Dockerfile has no FROM.');
  const stage: RuntimeStage = { from: all[lastFrom]!.args.split(/\s+/)[0]!, uid: NaN, gid: undefined, workdir: '/', entrypoint: [], cmd: [], env: {}, copied: [] };
  for (const { op, args } of all.slice(lastFrom + 1)) {
    switch (op) {
      case 'USER': {
        const [uid, gid] = args.split(':');
        stage.uid = Number(uid);
        stage.gid = gid === undefined ? undefined : Number(gid);
        break;
      }
      case 'WORKDIR':
        stage.workdir = path.posix.resolve(stage.workdir, args);
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = execForm(args);
        break;
      case 'CMD':
        stage.cmd = execForm(args);
        break;
      case 'ENV':
        for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) stage.env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
        break;
      case 'COPY': {
        const parts = args.split(/\s+/).filter((p) => !p.startsWith('--'));
        const target = parts.pop()!;
        const absolute = path.posix.resolve(stage.workdir, target);
        // `COPY a b dir/` (or `.`) copies into the folder; `COPY a b` names the copy.
        const intoFolder = target.endsWith('/') || target === '.' || parts.length > 1;
        for (const source of parts) stage.copied.push(intoFolder ? path.posix.join(absolute, path.posix.basename(source)) : absolute);
        break;
      }
    }
  }
  return stage;
}
