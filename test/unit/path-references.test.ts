/**
 * Comments, docs and tests point only at what the repository holds: every path
 * a tracked .ts, .md or .yaml file names under one of the repository's own
 * folders (`docs/x.md`, `test/support/x.ts`, `lib/…/`) must exist, a Markdown
 * link must resolve inside the repository, and nothing may point at reading
 * material outside it (a notes folder, a sibling folder of the checkout, an
 * absolute path into the workspace).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fromRoot } from '../../lib/paths.js';

const ROOT = fromRoot();

/** This file: its own examples of what is refused. */
const SELF = 'test/unit/path-references.test.ts';

/** Tracked files, and new ones not yet added (ignored ones left out), this one aside. */
function repositoryFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' });
  return out.split('\0').filter((f) => f !== SELF && /\.(ts|md|ya?ml)$/.test(f) && existsSync(path.join(ROOT, f)));
}

/** The repository's top-level folders: a path starting with one of them is a path in the repository. */
function topFolders(files: readonly string[]): Set<string> {
  return new Set(execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f.includes('/')).map((f) => f.split('/')[0]!).concat(files.filter((f) => f.includes('/')).map((f) => f.split('/')[0]!)));
}

/** Paths outside the repository: the notes it was written from and absolute paths into the workspace. */
const OUTSIDE = /(?:^|[\s(`'"[])((?:\/work\/|notes\/)[^\s)`'",;]*)/g;
/** Relative paths (`../x`), resolved against the file that names them: above the root is a sibling of the checkout. */
const RELATIVE = /(?:^|[\s(`'"[])((?:\.\.\/)+[^\s)`'",;]*)/g;
/** Candidate repository paths: segments of word characters, dots and dashes joined by '/'. */
const CANDIDATE = /(?<![\w./@:-])((?:[A-Za-z0-9_.-]+\/)+[A-Za-z0-9_.-]*)/g;
/** Markdown links to relative targets. */
const MD_LINK = /\]\(((?!https?:|mailto:|#)[^)\s]+)\)/g;

/** A reference's path without an anchor, line number or trailing punctuation. */
function clean(ref: string): string {
  return ref.replace(/#.*$/, '').replace(/:\d+(?::\d+)?$/, '').replace(/[.,:;]+$/, '');
}

/** Whether `rel` (from the root) exists; a `.js` name also matches its `.ts` source. */
function exists(rel: string): boolean {
  const full = path.join(ROOT, rel);
  return existsSync(full) || (rel.endsWith('.js') && existsSync(full.replace(/\.js$/, '.ts')));
}

/** Every broken or outside reference in one file, as `file:line: reference (why)`. */
export function badReferences(file: string, text: string, tops: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const at = `${file}:${i + 1}`;
    for (const m of line.matchAll(OUTSIDE)) problems.push(`${at}: ${m[1]} (outside the repository)`);
    for (const m of line.matchAll(RELATIVE)) {
      // A Markdown link's target is checked below, as a link.
      if (/[*{}<>$]/.test(m[1]!) || line.slice(0, m.index + m[0].length - m[1]!.length).endsWith('](')) continue;
      const target = path.normalize(path.join(path.dirname(file), clean(m[1]!)));
      if (target.startsWith('..')) problems.push(`${at}: ${m[1]} (outside the repository)`);
    }
    for (const m of line.matchAll(CANDIDATE)) {
      const ref = clean(m[1]!);
      const first = ref.split('/')[0]!;
      if (!tops.has(first) || /[*{}<>$]/.test(line.slice(m.index, m.index + m[0].length + 1))) continue;
      if (!exists(ref)) problems.push(`${at}: ${ref} (no such path in the repository)`);
    }
    if (file.endsWith('.md')) {
      for (const m of line.matchAll(MD_LINK)) {
        const target = path.normalize(path.join(path.dirname(file), clean(m[1]!)));
        if (target.startsWith('..') || path.isAbsolute(target)) problems.push(`${at}: ${m[1]} (links outside the repository)`);
        else if (!exists(target)) problems.push(`${at}: ${m[1]} (no such path in the repository)`);
      }
    }
  });
  return problems;
}

test('every path a comment, doc or test names is in the repository', () => {
  const files = repositoryFiles();
  assert.ok(files.length > 100, `found only ${files.length} files`);
  const tops = topFolders(files);
  const problems = files.flatMap((f) => badReferences(f, readFileSync(path.join(ROOT, f), 'utf8'), tops));
  assert.deepEqual(problems, []);
});

test('the scan finds the references it is meant to refuse', () => {
  // A sibling folder of the checkout and an absolute workspace path, spelt in pieces so this file names neither itself.
  const sibling = ['..', 'elsewhere', 'readme.md'].join('/');
  const absolute = ['', 'work', 'elsewhere', 'readme.md'].join('/');
  const tops = new Set(['docs', 'test', 'lib']);
  const text = [
    '// gzip level (notes/extraction.md §3.5)',
    `// see ${absolute}`,
    `// read ${sibling}`,
    '// test/support/no-such-double.ts and docs/no-such-page.md',
    '[link](../../outside.md) [fine](docs/performance.md#load) docs/performance.md, lib/errors.js',
  ].join('\n');
  // From a file deeper down, a relative path resolves against it: only one climbing above the root is outside.
  assert.deepEqual(badReferences('lib/store/x.ts', "import { a } from '../errors.js'; // ../../docs/state-store.md, ../../../outside.md", tops), [
    'lib/store/x.ts:1: ../../../outside.md (outside the repository)',
  ]);
  assert.deepEqual(badReferences('README.md', text, tops), [
    'README.md:1: notes/extraction.md (outside the repository)',
    `README.md:2: ${absolute} (outside the repository)`,
    `README.md:3: ${sibling} (outside the repository)`,
    'README.md:4: test/support/no-such-double.ts (no such path in the repository)',
    'README.md:4: docs/no-such-page.md (no such path in the repository)',
    'README.md:5: ../../outside.md (links outside the repository)',
  ]);
});
