/**
 * SQL Server native types → logical types; the SELECT expression and the
 * formatter that together print each value in its canonical text form
 * (lib/types/logical.ts). Values that JavaScript would round (bigint, decimal,
 * money) or that tedious would turn into a millisecond `Date` (every date and
 * time type) are converted to text by the server, in the generated SELECT.
 *
 * | native (INFORMATION_SCHEMA DATA_TYPE)   | logical             | read as                                            |
 * |-----------------------------------------|---------------------|----------------------------------------------------|
 * | bit                                     | boolean             | true / false                                       |
 * | tinyint (0–255, unsigned in SQL Server) | uint8               | digits                                             |
 * | smallint, int                           | int16, int32        | digits                                             |
 * | bigint                                  | int64               | CAST(… AS VARCHAR(40)): digits, never a float      |
 * | decimal(p,s), numeric(p,s)              | decimal p,s         | CAST(… AS VARCHAR(40)): the server's exact digits  |
 * | money, smallmoney                       | decimal 19,4 / 10,4 | CAST(CAST(… AS DECIMAL(19,4)) AS VARCHAR(40))      |
 * | float, real                             | float64, float32    | the driver's double, shortest round-trip form      |
 * | char(n), varchar(n), nchar(n), nvarchar(n) | text (length n)  | as is (char keeps its padding, as PostgreSQL's)    |
 * | varchar(max), nvarchar(max), text, ntext| text                | as is; text/ntext through CAST(… AS NVARCHAR(MAX)) |
 * | date                                    | date                | CONVERT(VARCHAR(10), …, 23): YYYY-MM-DD            |
 * | time(n)                                 | time, no zone       | CAST(… AS VARCHAR(16)), fraction trimmed           |
 * | datetime2(n), datetime, smalldatetime   | timestamp           | CONVERT(VARCHAR(27), …, 121), `T` between, fraction trimmed |
 * | datetimeoffset(n)                       | timestamptz         | SWITCHOFFSET to +00:00, then as datetime2(7), `+00:00` appended |
 * | uniqueidentifier                        | uuid                | CONVERT(CHAR(36), …), lower-cased                  |
 * | binary(n), varbinary(n|max), image, timestamp/rowversion | binary | \x + lowercase hex (image through VARBINARY(MAX)) |
 * | xml                                     | other               | CAST(… AS NVARCHAR(MAX))                           |
 * | json (SQL Server 2025)                  | json                | CAST(… AS NVARCHAR(MAX))                           |
 * | hierarchyid                             | other               | ….ToString(): `/1/2/`                              |
 * | geography, geometry                     | other               | ….STAsText(): WKT, as the MySQL connector gives geometries |
 * | sql_variant, vector, CLR types, anything else | none: the catalog refuses the table |                       |
 *
 * Fractional seconds: datetime2, time and datetimeoffset hold 100 ns (seven
 * digits). The canonical form's six digits are kept whenever the seventh is 0;
 * a non-zero seventh digit is kept too (never rounded away), so a value with
 * 100 ns resolution reads e.g. `12:00:00.1234567`. DuckDB stores microseconds
 * and truncates that digit; the CSV keeps it. Legacy datetime (1/300 s) reads
 * as SQL Server prints it (`.003`, `.007`).
 */
import type { LogicalType } from '../../types/logical.js';
import { asText, commonFormatter, hexBinary, nullable, type Formatter } from '../../types/canonical.js';

/** What INFORMATION_SCHEMA.COLUMNS reports about a column's type (alias types arrive as their base type). */
export interface MssqlTypeInfo {
  /** DATA_TYPE, e.g. `nvarchar`, `decimal`, `datetime2`. */
  dataType: string;
  /** CHARACTER_MAXIMUM_LENGTH: characters (bytes for binary), -1 for (max). */
  charLength: number | null;
  numericPrecision: number | null;
  numericScale: number | null;
  /** DATETIME_PRECISION: fractional-second digits of time, datetime2 and datetimeoffset. */
  datetimePrecision: number | null;
}

const SIZED = new Set(['char', 'varchar', 'nchar', 'nvarchar', 'binary', 'varbinary']);
const FRACTIONAL = new Set(['time', 'datetime2', 'datetimeoffset']);

/** The type as SQL Server spells it in DDL: `nvarchar(50)`, `nvarchar(max)`, `decimal(12,2)`, `datetime2(7)`. */
export function mssqlDatatype(info: MssqlTypeInfo): string {
  const t = info.dataType.toLowerCase();
  if (SIZED.has(t) && info.charLength != null) return `${t}(${info.charLength === -1 ? 'max' : info.charLength})`;
  if ((t === 'decimal' || t === 'numeric') && info.numericPrecision != null) return `${t}(${info.numericPrecision},${info.numericScale ?? 0})`;
  if (FRACTIONAL.has(t) && info.datetimePrecision != null) return `${t}(${info.datetimePrecision})`;
  return t;
}

const FIXED: Record<string, LogicalType> = {
  bit: { kind: 'boolean' },
  tinyint: { kind: 'uint8' },
  smallint: { kind: 'int16' },
  int: { kind: 'int32' },
  bigint: { kind: 'int64' },
  money: { kind: 'decimal', precision: 19, scale: 4 },
  smallmoney: { kind: 'decimal', precision: 10, scale: 4 },
  float: { kind: 'float64' },
  real: { kind: 'float32' },
  text: { kind: 'text' },
  ntext: { kind: 'text' },
  date: { kind: 'date' },
  time: { kind: 'time', withZone: false },
  datetime: { kind: 'timestamp' },
  datetime2: { kind: 'timestamp' },
  smalldatetime: { kind: 'timestamp' },
  datetimeoffset: { kind: 'timestamptz' },
  uniqueidentifier: { kind: 'uuid' },
  binary: { kind: 'binary' },
  varbinary: { kind: 'binary' },
  image: { kind: 'binary' },
  timestamp: { kind: 'binary' },
  rowversion: { kind: 'binary' },
  json: { kind: 'json' },
};

/** Types read as their text form on purpose (kind `other`). */
const AS_TEXT = new Set(['xml', 'hierarchyid', 'geography', 'geometry']);

/** The logical type of a SQL Server column, or undefined when its type has no mapping. */
export function mssqlLogicalType(info: MssqlTypeInfo): LogicalType | undefined {
  const t = info.dataType.toLowerCase();
  switch (t) {
    case 'decimal':
    case 'numeric':
      return { kind: 'decimal', precision: info.numericPrecision ?? 18, scale: info.numericScale ?? 0 };
    case 'char':
    case 'varchar':
    case 'nchar':
    case 'nvarchar':
      return info.charLength == null || info.charLength < 0 ? { kind: 'text' } : { kind: 'text', length: info.charLength };
  }
  const fixed = FIXED[t];
  if (fixed) return fixed;
  if (AS_TEXT.has(t)) return { kind: 'other', native: t };
  return undefined;
}

/** A SQL Server identifier in brackets, `]` doubled. */
export function quoteIdentifier(name: string): string {
  return `[${name.replaceAll(']', ']]')}]`;
}

/**
 * The SELECT expression for a column (already a quoted identifier) of the
 * given native type: the column itself, or SQL handing the driver text it
 * cannot lose. `datatype` is {@link mssqlDatatype}'s spelling.
 */
export function mssqlSelectExpression(column: string, datatype: string): string {
  const base = /^[a-z0-9]+/.exec(datatype.toLowerCase())?.[0] ?? '';
  switch (base) {
    case 'bigint':
    case 'decimal':
    case 'numeric':
      return `CAST(${column} AS VARCHAR(40))`;
    case 'money':
    case 'smallmoney':
      return `CAST(CAST(${column} AS DECIMAL(19,4)) AS VARCHAR(40))`;
    case 'date':
      return `CONVERT(VARCHAR(10), ${column}, 23)`;
    case 'time':
      return `CAST(${column} AS VARCHAR(16))`;
    case 'datetime':
    case 'datetime2':
    case 'smalldatetime':
      return `CONVERT(VARCHAR(27), ${column}, 121)`;
    case 'datetimeoffset':
      return `CONVERT(VARCHAR(27), CAST(SWITCHOFFSET(${column}, '+00:00') AS DATETIME2(7)), 121)`;
    case 'uniqueidentifier':
      return `CONVERT(CHAR(36), ${column})`;
    case 'text':
    case 'ntext':
    case 'xml':
    case 'json':
      return `CAST(${column} AS NVARCHAR(MAX))`;
    case 'image':
      return `CAST(${column} AS VARBINARY(MAX))`;
    case 'hierarchyid':
      return `${column}.ToString()`;
    case 'geography':
    case 'geometry':
      return `${column}.STAsText()`;
    default:
      return column;
  }
}

/** The formatter turning what tedious returns for {@link mssqlSelectExpression} into the canonical form. */
export function mssqlFormatter(logical: LogicalType): Formatter {
  switch (logical.kind) {
    case 'boolean':
      return nullable((v) => (v ? 'true' : 'false'));
    case 'float32': case 'float64': case 'time': case 'timestamp': case 'timestamptz':
      return commonFormatter(logical.kind);
    case 'uuid':
      return nullable((v) => asText(v).toLowerCase());
    case 'binary':
      return nullable((v) => {
        if (!Buffer.isBuffer(v)) throw new TypeError(`A binary column arrived as ${typeof v}, not bytes.`);
        return hexBinary(v);
      });
    case 'array':
    case 'interval':
    case 'enum':
      throw new Error(`SQL Server has no ${logical.kind} columns.`);
    default:
      return nullable(asText);
  }
}
