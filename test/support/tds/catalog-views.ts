/**
 * The catalog of one database of the SQL Server double, derived from the
 * tables a test declares: the INFORMATION_SCHEMA views (SCHEMATA, TABLES,
 * COLUMNS, TABLE_CONSTRAINTS, KEY_COLUMN_USAGE) and the sys catalog views
 * (databases, schemas, objects, tables, views, columns, types, indexes,
 * index_columns, partitions, key_constraints, extended_properties), each with the column
 * names and types SQL Server gives it, plus the user tables themselves.
 *
 * SQL Server promises no order without ORDER BY: the catalog views give
 * their rows in reverse declaration order (neither sorted by name nor by
 * position), so a statement that forgets to ask for an order is caught.
 */
import { collation } from './collations.js';
import { parseType, type SqlType } from './sql-types.js';
import type { SqlServerDatabase, SqlServerTable } from './database.js';

/** A table or view a FROM clause can name. */
export interface Relation {
  columns: Array<{ name: string; type: SqlType }>;
  rows: () => Iterable<unknown[]>;
}

/** The collation every database of the double uses unless it names another. */
export const DEFAULT_COLLATION = 'SQL_Latin1_General_CP1_CI_AS';

const nvarchar = (n: number | 'max'): SqlType => ({ base: 'nvarchar', args: [n] });
const varchar = (n: number): SqlType => ({ base: 'varchar', args: [n] });
const SYSNAME = nvarchar(128);
const INT: SqlType = { base: 'int', args: [] };
const BIGINT: SqlType = { base: 'bigint', args: [] };
const SMALLINT: SqlType = { base: 'smallint', args: [] };
const TINYINT: SqlType = { base: 'tinyint', args: [] };
const BIT: SqlType = { base: 'bit', args: [] };
const CHAR2: SqlType = { base: 'char', args: [2] };
const VARIANT: SqlType = { base: 'sql_variant', args: [] };

/** sys.types: system_type_id, user_type_id, max_length, precision, scale of each system type. */
const SYS_TYPES: Array<[string, number, number, number, number, number]> = [
  ['image', 34, 34, 16, 0, 0], ['text', 35, 35, 16, 0, 0], ['uniqueidentifier', 36, 36, 16, 0, 0], ['date', 40, 40, 3, 10, 0],
  ['time', 41, 41, 5, 16, 7], ['datetime2', 42, 42, 8, 27, 7], ['datetimeoffset', 43, 43, 10, 34, 7], ['tinyint', 48, 48, 1, 3, 0],
  ['smallint', 52, 52, 2, 5, 0], ['int', 56, 56, 4, 10, 0], ['smalldatetime', 58, 58, 4, 16, 0], ['real', 59, 59, 4, 24, 0],
  ['money', 60, 60, 8, 19, 4], ['datetime', 61, 61, 8, 23, 3], ['float', 62, 62, 8, 53, 0], ['sql_variant', 98, 98, 8016, 0, 0],
  ['ntext', 99, 99, 16, 0, 0], ['bit', 104, 104, 1, 1, 0], ['decimal', 106, 106, 17, 38, 38], ['numeric', 108, 108, 17, 38, 38],
  ['smallmoney', 122, 122, 4, 10, 4], ['bigint', 127, 127, 8, 19, 0], ['hierarchyid', 240, 128, 892, 0, 0], ['geometry', 240, 129, -1, 0, 0],
  ['geography', 240, 130, -1, 0, 0], ['varbinary', 165, 165, 8000, 0, 0], ['varchar', 167, 167, 8000, 0, 0], ['binary', 173, 173, 8000, 0, 0],
  ['char', 175, 175, 8000, 0, 0], ['timestamp', 189, 189, 8, 0, 0], ['nvarchar', 231, 231, 8000, 0, 0], ['nchar', 239, 239, 8000, 0, 0],
  ['xml', 241, 241, -1, 0, 0], ['json', 244, 244, -1, 0, 0], ['sysname', 231, 256, 256, 0, 0],
];

const CHARACTER_TYPES = new Set(['char', 'varchar', 'text', 'nchar', 'nvarchar', 'ntext']);

/** The INFORMATION_SCHEMA.COLUMNS type details SQL Server reports for a declared type. */
function informationSchema(t: SqlType) {
  const n = (i: number, fallback: number) => (t.args[i] === undefined ? fallback : t.args[i] === 'max' ? -1 : (t.args[i] as number));
  const out = { char_length: null as number | null, octet_length: null as number | null, precision: null as number | null, radix: null as number | null, scale: null as number | null, datetime: null as number | null };
  const numeric = (precision: number, scale: number, radix = 10) => Object.assign(out, { precision, scale, radix });
  switch (t.base) {
    case 'char': case 'varchar': case 'binary': case 'varbinary':
      out.char_length = n(0, 1);
      out.octet_length = out.char_length;
      break;
    case 'nchar': case 'nvarchar':
      out.char_length = n(0, 1);
      out.octet_length = out.char_length === -1 ? -1 : out.char_length * 2;
      break;
    case 'text': case 'image':
      out.char_length = 2147483647;
      out.octet_length = 2147483647;
      break;
    case 'ntext':
      out.char_length = 1073741823;
      out.octet_length = 2147483646;
      break;
    case 'xml': case 'json':
      out.char_length = -1;
      out.octet_length = -1;
      break;
    case 'tinyint': numeric(3, 0); break;
    case 'smallint': numeric(5, 0); break;
    case 'int': numeric(10, 0); break;
    case 'bigint': numeric(19, 0); break;
    case 'decimal': case 'numeric': numeric(n(0, 18), n(1, 0)); break;
    case 'money': numeric(19, 4); break;
    case 'smallmoney': numeric(10, 4); break;
    case 'float': out.precision = 53; out.radix = 2; break;
    case 'real': out.precision = 24; out.radix = 2; break;
    case 'date': case 'smalldatetime': out.datetime = 0; break;
    case 'datetime': out.datetime = 3; break;
    case 'time': case 'datetime2': case 'datetimeoffset': out.datetime = n(0, 7); break;
  }
  return out;
}

/** sys.columns max_length, precision and scale of a declared type. */
function sysColumn(t: SqlType): { max: number; precision: number; scale: number } {
  const row = SYS_TYPES.find(([name]) => name === t.base)!;
  const arg = (i: number, fallback: number) => (t.args[i] === undefined ? fallback : t.args[i] === 'max' ? -1 : (t.args[i] as number));
  switch (t.base) {
    case 'char': case 'varchar': case 'binary': case 'varbinary': return { max: arg(0, 1), precision: 0, scale: 0 };
    case 'nchar': case 'nvarchar': return { max: arg(0, 1) === -1 ? -1 : arg(0, 1) * 2, precision: 0, scale: 0 };
    case 'decimal': case 'numeric': {
      const p = arg(0, 18);
      return { max: p <= 9 ? 5 : p <= 19 ? 9 : p <= 28 ? 13 : 17, precision: p, scale: arg(1, 0) };
    }
    case 'time': case 'datetime2': case 'datetimeoffset': {
      const s = arg(0, 7);
      const extra = s <= 2 ? 0 : s <= 4 ? 1 : 2;
      return { max: row[3] - 2 + extra, precision: row[4] - 7 + s - (s === 0 ? 1 : 0), scale: s };
    }
    default: return { max: row[3], precision: row[4], scale: row[5] };
  }
}

/** Object ids are made up but stable: one per table, view and key constraint, in declaration order. */
const FIRST_OBJECT_ID = 245_575_913;
const SYSTEM_SCHEMAS: Array<[string, number]> = [['dbo', 1], ['guest', 2], ['INFORMATION_SCHEMA', 3], ['sys', 4]];
const SYSTEM_DATABASES = ['master', 'tempdb', 'model', 'msdb'];

interface TableEntry {
  schema: string;
  schemaId: number;
  table: SqlServerTable;
  objectId: number;
  types: SqlType[];
  keys: Array<{ name: string; type: 'PRIMARY KEY' | 'UNIQUE'; objectId: number; columns: string[] }>;
}

/** Everything a statement can read in one database. */
export class Catalog {
  readonly collation: string;
  readonly databaseId: number;
  private readonly schemas: Array<[string, number]>;
  private readonly tables: TableEntry[] = [];
  private readonly views = new Map<string, Relation>();

  constructor(
    readonly database: SqlServerDatabase,
    private readonly all: readonly SqlServerDatabase[],
  ) {
    this.collation = database.collation ?? DEFAULT_COLLATION;
    collation(this.collation);
    this.databaseId = this.databaseIds().find(([name]) => name === database.name)?.[1] ?? 1;
    this.schemas = [...SYSTEM_SCHEMAS];
    for (const name of Object.keys(database.schemas)) if (!this.schemas.some(([s]) => s.toLowerCase() === name.toLowerCase())) this.schemas.push([name, this.schemas.length + 1]);
    let next = FIRST_OBJECT_ID;
    for (const [schema, tables] of Object.entries(database.schemas)) {
      const schemaId = this.schemas.find(([s]) => s.toLowerCase() === schema.toLowerCase())![1];
      for (const table of tables) {
        const objectId = next;
        next += 32;
        const keys: TableEntry['keys'] = [];
        if (table.primaryKey) keys.push({ name: `PK_${table.name}`, type: 'PRIMARY KEY', objectId: (next += 32), columns: table.primaryKey });
        for (const [i, columns] of (table.unique ?? []).entries()) keys.push({ name: `UQ_${table.name}_${i + 1}`, type: 'UNIQUE', objectId: (next += 32), columns });
        this.tables.push({ schema, schemaId, table, objectId, types: table.columns.map((c) => ({ ...parseType(c.type), collation: c.collation })), keys });
      }
    }
    this.defineViews();
  }

  private databaseIds(): Array<[string, number]> {
    return [...SYSTEM_DATABASES, ...this.all.map((d) => d.name).filter((n) => !SYSTEM_DATABASES.includes(n.toLowerCase()))].map((n, i) => [n, i + 1]);
  }

  /** The relation `schema.name` (schema absent: dbo), or undefined. */
  relation(schema: string | null, name: string): Relation | undefined {
    const s = (schema ?? 'dbo').toLowerCase();
    const view = this.views.get(`${s}.${name.toLowerCase()}`);
    if (view) return view;
    const entry = this.table(schema ?? 'dbo', name);
    if (!entry) return undefined;
    const { table } = entry;
    return {
      columns: table.columns.map((c, i) => ({ name: c.name, type: entry.types[i]! })),
      rows: typeof table.rows === 'function' ? table.rows : () => table.rows as unknown[][],
    };
  }

  private table(schema: string, name: string): TableEntry | undefined {
    return this.tables.find((t) => t.schema.toLowerCase() === schema.toLowerCase() && t.table.name.toLowerCase() === name.toLowerCase());
  }

  /** OBJECT_ID of a user table or view: `schema.name` with the schema optional (dbo). */
  objectId(schema: string | null, name: string): number | null {
    return this.table(schema ?? 'dbo', name)?.objectId ?? null;
  }

  /** COLUMNPROPERTY(id, column, 'ColumnId'). */
  columnId(objectId: number, column: string): number | null {
    const entry = this.tables.find((t) => t.objectId === objectId);
    const i = entry?.table.columns.findIndex((c) => c.name.toLowerCase() === column.toLowerCase()) ?? -1;
    return i < 0 ? null : i + 1;
  }

  /** DB_ID(name), or the current database's id. */
  dbId(name?: string): number | null {
    if (name === undefined) return this.databaseId;
    return this.databaseIds().find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1] ?? null;
  }

  private define(schema: string, name: string, columns: Array<[string, SqlType]>, rows: () => unknown[][]): void {
    let cached: unknown[][] | undefined;
    this.views.set(`${schema.toLowerCase()}.${name.toLowerCase()}`, { columns: columns.map(([n, type]) => ({ name: n, type })), rows: () => (cached ??= rows().reverse()) });
  }

  private defineViews(): void {
    const db = this.database.name;
    const tables = this.tables;
    const columnCollation = (t: TableEntry, i: number) => (CHARACTER_TYPES.has(t.types[i]!.base) ? (t.types[i]!.collation ?? this.collation) : null);
    this.define('INFORMATION_SCHEMA', 'SCHEMATA', [
      ['CATALOG_NAME', SYSNAME], ['SCHEMA_NAME', SYSNAME], ['SCHEMA_OWNER', SYSNAME], ['DEFAULT_CHARACTER_SET_CATALOG', varchar(6)],
      ['DEFAULT_CHARACTER_SET_SCHEMA', varchar(3)], ['DEFAULT_CHARACTER_SET_NAME', SYSNAME],
    ], () => this.schemas.map(([s]) => [db, s, s === 'guest' ? 'guest' : 'dbo', null, null, `cp${collation(this.collation).codePage}`]));
    this.define('INFORMATION_SCHEMA', 'TABLES', [['TABLE_CATALOG', SYSNAME], ['TABLE_SCHEMA', SYSNAME], ['TABLE_NAME', SYSNAME], ['TABLE_TYPE', varchar(10)]],
      () => tables.map((t) => [db, t.schema, t.table.name, t.table.view ? 'VIEW' : 'BASE TABLE']));
    this.define('INFORMATION_SCHEMA', 'COLUMNS', [
      ['TABLE_CATALOG', SYSNAME], ['TABLE_SCHEMA', SYSNAME], ['TABLE_NAME', SYSNAME], ['COLUMN_NAME', SYSNAME], ['ORDINAL_POSITION', INT],
      ['COLUMN_DEFAULT', nvarchar(4000)], ['IS_NULLABLE', varchar(3)], ['DATA_TYPE', SYSNAME], ['CHARACTER_MAXIMUM_LENGTH', INT],
      ['CHARACTER_OCTET_LENGTH', INT], ['NUMERIC_PRECISION', TINYINT], ['NUMERIC_PRECISION_RADIX', SMALLINT], ['NUMERIC_SCALE', INT],
      ['DATETIME_PRECISION', SMALLINT], ['CHARACTER_SET_CATALOG', SYSNAME], ['CHARACTER_SET_SCHEMA', SYSNAME], ['CHARACTER_SET_NAME', SYSNAME],
      ['COLLATION_CATALOG', SYSNAME], ['COLLATION_SCHEMA', SYSNAME], ['COLLATION_NAME', SYSNAME], ['DOMAIN_CATALOG', SYSNAME],
      ['DOMAIN_SCHEMA', SYSNAME], ['DOMAIN_NAME', SYSNAME],
    ], () => tables.flatMap((t) => t.table.columns.map((c, i) => {
      const type = t.types[i]!;
      const info = informationSchema(type);
      const coll = columnCollation(t, i);
      const charset = coll === null ? null : ['nchar', 'nvarchar', 'ntext'].includes(type.base) ? 'UNICODE' : collation(coll).codePage === 65001 ? 'UTF8' : `cp${collation(coll).codePage}`;
      return [db, t.schema, t.table.name, c.name, i + 1, null, c.nullable === false ? 'NO' : 'YES', type.base, info.char_length, info.octet_length,
        info.precision, info.radix, info.scale, info.datetime, null, null, charset, null, null, coll, null, null, null];
    })));
    const constraints = () => tables.flatMap((t) => t.keys.map((k) => ({ t, k })));
    this.define('INFORMATION_SCHEMA', 'TABLE_CONSTRAINTS', [
      ['CONSTRAINT_CATALOG', SYSNAME], ['CONSTRAINT_SCHEMA', SYSNAME], ['CONSTRAINT_NAME', SYSNAME], ['TABLE_CATALOG', SYSNAME], ['TABLE_SCHEMA', SYSNAME],
      ['TABLE_NAME', SYSNAME], ['CONSTRAINT_TYPE', varchar(11)], ['IS_DEFERRABLE', varchar(2)], ['INITIALLY_DEFERRED', varchar(2)],
    ], () => constraints().map(({ t, k }) => [db, t.schema, k.name, db, t.schema, t.table.name, k.type, 'NO', 'NO']));
    this.define('INFORMATION_SCHEMA', 'KEY_COLUMN_USAGE', [
      ['CONSTRAINT_CATALOG', SYSNAME], ['CONSTRAINT_SCHEMA', SYSNAME], ['CONSTRAINT_NAME', SYSNAME], ['TABLE_CATALOG', SYSNAME], ['TABLE_SCHEMA', SYSNAME],
      ['TABLE_NAME', SYSNAME], ['COLUMN_NAME', SYSNAME], ['ORDINAL_POSITION', INT],
    ], () => constraints().flatMap(({ t, k }) => k.columns.map((c, i) => [db, t.schema, k.name, db, t.schema, t.table.name, t.table.columns.find((x) => x.name.toLowerCase() === c.toLowerCase())?.name ?? c, i + 1])));

    this.define('sys', 'databases', [
      ['name', SYSNAME], ['database_id', INT], ['collation_name', SYSNAME], ['compatibility_level', TINYINT], ['snapshot_isolation_state', TINYINT],
      ['snapshot_isolation_state_desc', nvarchar(60)], ['is_read_committed_snapshot_on', BIT],
    ], () => this.databaseIds().map(([name, id]) => {
      const d = this.all.find((x) => x.name === name);
      const on = d?.snapshotIsolation ?? (name === 'master' || name === 'msdb');
      return [name, id, d?.collation ?? DEFAULT_COLLATION, 160, on ? 1 : 0, on ? 'ON' : 'OFF', false];
    }));
    this.define('sys', 'schemas', [['name', SYSNAME], ['schema_id', INT], ['principal_id', INT]], () => this.schemas.map(([n, id]) => [n, id, n === 'guest' ? 2 : 1]));
    const objectColumns: Array<[string, SqlType]> = [['name', SYSNAME], ['object_id', INT], ['principal_id', INT], ['schema_id', INT], ['parent_object_id', INT], ['type', CHAR2], ['type_desc', nvarchar(60)]];
    const tableObjects = (views: boolean) => tables.filter((t) => !!t.table.view === views).map((t) => [t.table.name, t.objectId, null, t.schemaId, 0, views ? 'V ' : 'U ', views ? 'VIEW' : 'USER_TABLE']);
    const keyObjects = () => constraints().map(({ t, k }) => [k.name, k.objectId, null, t.schemaId, t.objectId, k.type === 'UNIQUE' ? 'UQ' : 'PK', k.type === 'UNIQUE' ? 'UNIQUE_CONSTRAINT' : 'PRIMARY_KEY_CONSTRAINT']);
    this.define('sys', 'objects', objectColumns, () => [...tableObjects(false), ...tableObjects(true), ...keyObjects()].sort((a, b) => (a[1] as number) - (b[1] as number)));
    this.define('sys', 'tables', objectColumns, () => tableObjects(false));
    this.define('sys', 'views', objectColumns, () => tableObjects(true));
    this.define('sys', 'key_constraints', [...objectColumns, ['unique_index_id', INT]], () => keyObjects().map((row, i) => [...row, i + 1]));
    this.define('sys', 'types', [
      ['name', SYSNAME], ['system_type_id', TINYINT], ['user_type_id', INT], ['schema_id', INT], ['max_length', SMALLINT], ['precision', TINYINT],
      ['scale', TINYINT], ['collation_name', SYSNAME], ['is_nullable', BIT], ['is_user_defined', BIT],
    ], () => SYS_TYPES.map(([name, system, user, max, precision, scale]) => [name, system, user, 4, max, precision, scale, CHARACTER_TYPES.has(name) || name === 'sysname' ? this.collation : null, name !== 'sysname', false]));
    this.define('sys', 'columns', [
      ['object_id', INT], ['name', SYSNAME], ['column_id', INT], ['system_type_id', TINYINT], ['user_type_id', INT], ['max_length', SMALLINT],
      ['precision', TINYINT], ['scale', TINYINT], ['collation_name', SYSNAME], ['is_nullable', BIT],
    ], () => tables.flatMap((t) => t.table.columns.map((c, i) => {
      const type = t.types[i]!;
      const [, system, user] = SYS_TYPES.find(([n]) => n === type.base) ?? ['', 0, 0];
      const { max, precision, scale } = sysColumn(type);
      return [t.objectId, c.name, i + 1, system, user, max, precision, scale, columnCollation(t, i), c.nullable !== false];
    })));
    const indexes = () => tables.flatMap((t) => t.keys.map((k, i) => ({ t, k, indexId: i + 1 })));
    this.define('sys', 'indexes', [
      ['object_id', INT], ['name', SYSNAME], ['index_id', INT], ['type', TINYINT], ['type_desc', nvarchar(60)], ['is_unique', BIT],
      ['is_primary_key', BIT], ['is_unique_constraint', BIT],
    ], () => indexes().map(({ t, k, indexId }) => [t.objectId, k.name, indexId, indexId === 1 ? 1 : 2, indexId === 1 ? 'CLUSTERED' : 'NONCLUSTERED', true, k.type === 'PRIMARY KEY', k.type === 'UNIQUE']));
    this.define('sys', 'index_columns', [
      ['object_id', INT], ['index_id', INT], ['index_column_id', INT], ['column_id', INT], ['key_ordinal', TINYINT], ['is_descending_key', BIT], ['is_included_column', BIT],
    ], () => indexes().flatMap(({ t, k, indexId }) => k.columns.map((c, i) => [t.objectId, indexId, i + 1, this.columnId(t.objectId, c), i + 1, false, false])));
    // Each index (as sys.indexes has them: the first key clustered, index_id 1), or the heap (index_id 0) of a table without keys,
    // in the table's partitions; `rows` counts the table's rows in each, spread evenly (the first partitions take the remainder).
    this.define('sys', 'partitions', [
      ['partition_id', BIGINT], ['object_id', INT], ['index_id', INT], ['partition_number', INT], ['hobt_id', BIGINT], ['rows', BIGINT],
      ['filestream_filegroup_id', SMALLINT], ['data_compression', TINYINT], ['data_compression_desc', nvarchar(60)],
    ], () => tables.filter((t) => !t.table.view).flatMap((t) => {
      const rows = BigInt(Array.from(typeof t.table.rows === 'function' ? t.table.rows() : t.table.rows).length);
      const parts = BigInt(t.table.partitions ?? 1);
      const ids = t.keys.length === 0 ? [0] : t.keys.map((_, i) => i + 1);
      return ids.flatMap((indexId) => Array.from({ length: Number(parts) }, (_, p) => {
        const id = (BigInt(t.objectId) << 24n) + (BigInt(indexId) << 12n) + BigInt(p + 1);
        return [id, t.objectId, indexId, p + 1, id, rows / parts + (BigInt(p) < rows % parts ? 1n : 0n), 0, 0, 'NONE'];
      }));
    }));
    this.define('sys', 'extended_properties', [
      ['class', TINYINT], ['class_desc', nvarchar(60)], ['major_id', INT], ['minor_id', INT], ['name', SYSNAME], ['value', VARIANT],
    ], () => tables.flatMap((t) => {
      const props = (description: string | undefined, extra: Record<string, string> | undefined) => [
        ...(description === undefined ? [] : [['MS_Description', description] as const]), ...Object.entries(extra ?? {}),
      ];
      return [
        ...props(t.table.description, t.table.properties).map(([name, value]) => [1, 'OBJECT_OR_COLUMN', t.objectId, 0, name, value]),
        ...t.table.columns.flatMap((c, i) => props(c.description, c.properties).map(([name, value]) => [1, 'OBJECT_OR_COLUMN', t.objectId, i + 1, name, value])),
      ];
    }));
  }
}
