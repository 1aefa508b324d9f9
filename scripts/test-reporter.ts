/**
 * The test reporter of `npm test` (scripts/test.ts): one line per test file as
 * it finishes (its place in the run, its time, ✖ and the failing tests' names
 * when something in it failed), then the counts, then every failure in full.
 *
 * A test file's own output (what it or the services it spawned wrote to stdout
 * or stderr) is held back and shown only if something in that file failed:
 * a passing file's logs are noise, a failing file's are evidence. Node.js
 * warnings (`(node:PID) …Warning: …`) are the exception: they are shown at
 * once, whichever file prints them, so a new deprecation cannot hide here.
 */
import path from 'node:path';
import { inspect } from 'node:util';

interface TestData {
  name: string;
  nesting: number;
  file?: string;
  message?: string;
  details?: { duration_ms?: number; type?: 'suite' | 'test'; error?: Error & { cause?: unknown; failureType?: string } };
  skip?: string | boolean;
  todo?: string | boolean;
}
interface TestEvent {
  type: string;
  data: TestData;
}

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const red = paint(31);
const green = paint(32);
const yellow = paint(33);
const dim = paint(2);

const relative = (file: string | undefined) => (file ? path.relative(process.cwd(), file) : '(no file)');
const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(1)} s`;
/** A Node.js process warning as Node.js prints it, and the hint line that follows one. */
const WARNING = /^\(node:\d+\) (?:\[\w+\] )?\w*Warning: |^\(Use `node --trace-/;

interface Failure {
  file: string | undefined;
  /** Names from the outermost suite down to the failing test. */
  names: string[];
  error: unknown;
}

export async function* reporter(source: AsyncIterable<TestEvent>, total?: number): AsyncGenerator<string> {
  const started = Date.now();
  const counts = { pass: 0, fail: 0, skip: 0, todo: 0 };
  const failures: Failure[] = [];
  /** Held output per file, and the files with a failure. */
  const output = new Map<string, string[]>();
  const failedFiles = new Set<string>();
  /** The names of the tests being run per file and depth, to name a failure by its suites. */
  const open = new Map<string, string[]>();
  let filesDone = 0;

  for await (const { type, data } of source) {
    const file = data.file;
    switch (type) {
      case 'test:start': {
        const names = open.get(file ?? '') ?? [];
        names.length = data.nesting;
        names.push(data.name);
        open.set(file ?? '', names);
        break;
      }
      case 'test:pass':
      case 'test:fail': {
        if (data.name === file && data.nesting === 0) {
          // The file itself: it failed outside any test (it did not load, or exited early).
          if (type === 'test:fail') {
            counts.fail++;
            failedFiles.add(file);
            failures.push({ file, names: ['(the file itself)'], error: data.details?.error });
          }
          break;
        }
        if (data.details?.type === 'suite') {
          // A suite fails when a test in it does (counted there), or in its hooks (counted here).
          const hookFailure = type === 'test:fail' && data.details.error?.failureType !== 'subtestsFailed';
          if (hookFailure) {
            counts.fail++;
            failedFiles.add(file ?? '');
            failures.push({ file, names: [...(open.get(file ?? '') ?? []).slice(0, data.nesting), data.name], error: data.details.error });
          }
          break;
        }
        if (data.skip) counts.skip++;
        else if (data.todo) counts.todo++;
        else if (type === 'test:pass') counts.pass++;
        else {
          counts.fail++;
          failedFiles.add(file ?? '');
          const names = [...(open.get(file ?? '') ?? []).slice(0, data.nesting), data.name];
          failures.push({ file, names, error: data.details?.error });
          yield `${red('✖')} ${relative(file)} › ${names.join(' › ')}\n`;
        }
        break;
      }
      case 'test:complete':
        if (data.name === file && data.nesting === 0) {
          filesDone++;
          const place = total ? `${String(filesDone).padStart(String(total).length)}/${total}` : String(filesDone);
          yield `${dim(place)} ${relative(file)} ${dim(seconds(data.details?.duration_ms))}\n`;
        }
        break;
      case 'test:stdout':
      case 'test:stderr': {
        const text = data.message ?? '';
        const warnings = text.split('\n').filter((line) => WARNING.test(line));
        if (warnings.length > 0) yield `${yellow(`${relative(file)}: ${warnings.join('\n')}`)}\n`;
        const rest = text.split('\n').filter((line) => !WARNING.test(line)).join('\n');
        if (rest.trim() !== '') output.set(file ?? '', [...(output.get(file ?? '') ?? []), rest]);
        break;
      }
      default:
        break;
    }
  }

  const took = seconds(Date.now() - started);
  const summary = [`${counts.pass} passed`, counts.fail > 0 ? red(`${counts.fail} failed`) : '0 failed', counts.skip > 0 ? `${counts.skip} skipped` : '', counts.todo > 0 ? `${counts.todo} todo` : '']
    .filter(Boolean)
    .join(', ');
  yield `\n${counts.fail > 0 ? red('✖') : green('✔')} ${filesDone} files: ${summary} (${took})\n`;
  if (failures.length === 0) return;

  for (const failedFile of failedFiles) {
    const held = output.get(failedFile);
    if (!held) continue;
    yield `\n${red(`Output of ${relative(failedFile)}:`)}\n${held.join('').replace(/\n?$/, '\n')}`;
  }
  yield `\n${red(`Failures (${failures.length}):`)}\n`;
  for (const [i, failure] of failures.entries()) {
    const error = failure.error as { cause?: unknown } | undefined;
    const shown = error?.cause ?? error;
    const text = inspect(shown, { colors: tty, depth: 4 }).replace(/^/gm, '    ');
    yield `\n${i + 1}) ${relative(failure.file)} › ${failure.names.join(' › ')}\n${text}\n`;
  }
}
