/**
 * Serialises work on one project folder inside this process: a package and a
 * publish of the same project and start time never interleave. (Replicas of
 * the service do not share this lock; the CLI runs one step at a time.)
 */
const tails = new Map<string, Promise<void>>();

/** Runs `work` once every earlier holder of `key` has finished. */
export async function withFolderLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  await previous;
  try {
    return await work();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}
