/**
 * Real databases for tests: each test file creates its own database on the
 * machine's PostgreSQL and MariaDB/MySQL (settings from the environment,
 * defaults 127.0.0.1:5432 user postgres and 127.0.0.1:3306 user root) and drops it.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';

export const pgSettings = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  password: process.env.PGPASSWORD ?? '',
};

export const mysqlSettings = {
  host: process.env.MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.MYSQL_PORT ?? 3306),
  user: process.env.MYSQL_USER ?? 'root',
  password: process.env.MYSQL_PASSWORD ?? '',
};

function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export interface TestPgDatabase {
  database: string;
  /** A client connected to the new database, for set-up and assertions. */
  client: pg.Client;
  drop(): Promise<void>;
}

/** Creates a fresh PostgreSQL database; `drop()` removes it. */
export async function createPgDatabase(prefix = 'cr8t'): Promise<TestPgDatabase> {
  const database = uniqueName(prefix);
  const admin = new pg.Client({ ...pgSettings, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  const client = new pg.Client({ ...pgSettings, database });
  await client.connect();
  return {
    database,
    client,
    async drop() {
      await client.end().catch(() => undefined);
      const a = new pg.Client({ ...pgSettings, database: 'postgres' });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await a.end();
    },
  };
}

/** Drops a role a test created on the PostgreSQL server (roles belong to the server, not to a database, so they outlive it). */
export async function dropPgRole(role: string): Promise<void> {
  const admin = new pg.Client({ ...pgSettings, database: 'postgres' });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
  await admin.end();
}

export interface TestMysqlDatabase {
  database: string;
  /** A connection to the new database (multipleStatements on), for set-up and assertions. */
  conn: mysql.Connection;
  drop(): Promise<void>;
}

/** Creates a fresh MySQL/MariaDB database; `drop()` removes it. */
export async function createMysqlDatabase(prefix = 'cr8t'): Promise<TestMysqlDatabase> {
  const database = uniqueName(prefix);
  const admin = await mysql.createConnection(mysqlSettings);
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const conn = await mysql.createConnection({ ...mysqlSettings, database, multipleStatements: true, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true });
  return {
    database,
    conn,
    async drop() {
      await conn.end().catch(() => undefined);
      const a = await mysql.createConnection(mysqlSettings);
      await a.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await a.end();
    },
  };
}
