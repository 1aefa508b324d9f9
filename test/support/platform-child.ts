/**
 * The platform (platform.ts) alone in a process started with --expose-gc, for
 * tests that measure what the services keep in memory: the parent drives the
 * services over HTTP and asks this process for its heap after a full GC.
 * Protocol: one JSON line per message on stdout; commands on stdin, one a line:
 * `heap` (answers `{"heapUsed": …}`) and `close`.
 */
import { createInterface } from 'node:readline';
import { startPlatform } from './platform.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('start with --expose-gc');
const platform = await startPlatform();
const send = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
send({ ready: { gateway: platform.gateway, metadata: platform.metadata, publish: platform.publish, secretsDir: platform.secretsDir } });

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'heap') {
    // Several passes: weak references and finalisers free more on the next.
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    send({ heapUsed: process.memoryUsage().heapUsed });
  } else if (line === 'close') {
    await platform.close();
    send({ closed: true });
    break;
  }
}
