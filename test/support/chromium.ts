/**
 * A real headless Chromium for browser tests: Debian's `chromium` package
 * (scripts/ci/ensure-chromium.sh installs it), driven with playwright-core.
 * Started so that it reaches nothing but what the test opens: a fresh
 * profile, and none of the browser's own background traffic.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { findOnPath, skipWithoutProgram } from './processes.js';

/** Where Chromium is: CHROMIUM_PATH, or `chromium` on the PATH; undefined when there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.CHROMIUM_PATH ? findOnPath(path.basename(env.CHROMIUM_PATH), { PATH: path.dirname(env.CHROMIUM_PATH) }) : findOnPath('chromium', env);
}

/** The `skip` option of a browser test (see {@link skipWithoutProgram}). */
export function skipWithoutChromium(env: NodeJS.ProcessEnv = process.env): string | false {
  return skipWithoutProgram('Chromium', findChromium(env), 'scripts/ci/ensure-chromium.sh installs Debian\'s chromium; or set CHROMIUM_PATH', env);
}

/** A browser with its own throw-away profile; `close()` ends it and removes the profile. */
export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error('Chromium is not installed: run scripts/ci/ensure-chromium.sh (Debian package chromium) or set CHROMIUM_PATH.');
  const profile = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      viewport: { width: 1600, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    return {
      context,
      async close() {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
