/**
 * A MySQL/MariaDB result read straight from its text-protocol row packets into
 * canonical CSV bytes, without building a JavaScript value per field.
 *
 * mysql2 parses each row of a text-protocol result into JavaScript values
 * (strings decoded from UTF-8, numbers parsed), which the CSV encoder then
 * turned back into bytes: most of a MySQL package's CPU. Here the query's row
 * state is replaced by one that walks each row packet's length-encoded fields
 * and writes them into a reused buffer as the CSV encoder (csv-rows.ts) would
 * have written the formatted value, byte for byte:
 * - a field whose formatted value is the wire text itself (BIGINT and DECIMAL
 *   digits, dates, UTF-8 strings, JSON, the `true`/`false` of bit(1)) is
 *   copied, quoted as {@link csvField} quotes (`,` `"` CR LF, the empty
 *   string `""`, a lone `\.` in a one-column row);
 * - TINYINT … INT and YEAR (which mysql2 parses into numbers) and ZEROFILL
 *   columns lose their leading zeros, as String(number) and the ZEROFILL
 *   formatter spell them;
 * - DATETIME, TIMESTAMP and TIME get the `T`, the trimmed fraction and the
 *   `+00:00` of {@link isoTimestamp} / {@link trimFraction};
 * - anything else (floats, binary, a string result in another encoding, …)
 *   is read by mysql2's own packet method for its wire type (the one its
 *   row parser would call, with the connection options the connector sets),
 *   then formatted and quoted as before.
 * A NULL is an empty unquoted field. The rows of one tick leave as one chunk
 * of at most about 64 KiB, as from the CSV encoder.
 *
 * This replaces the `row` state of mysql2's Query command (mysql2 is pinned;
 * test/integration/sources/mysql/types-mysql.test.ts and extract-mysql.test.ts
 * compare every type's output with the expected canonical forms).
 */
import { Readable } from 'node:stream';
import type mysql from 'mysql2';
import type { LogicalType } from '../../types/logical.js';
import type { Formatter } from '../../types/canonical.js';
import { csvField, csvHeader } from '../csv-rows.js';
import type { CsvProgress } from '../connector.js';

/** mysql2's text-protocol packet, the parts read here (mysql2 3.24.6: node_modules/mysql2/lib/packets/packet.js). */
interface Packet {
  buffer: Buffer;
  offset: number;
  end: number;
  isEOF(): boolean;
  readLengthCodedString(encoding: string): string | null;
  readLengthCodedBuffer(): Buffer | null;
  readLengthCodedNumber(): number | null;
  parseLengthCodedIntNoBigCheck(): number | null;
  parseLengthCodedIntString(): string | null;
  parseLengthCodedFloat(): number | null;
  parseGeometryValue(): unknown;
  parseVector(): unknown;
}

/** A column definition as mysql2 parses it (node_modules/mysql2/lib/packets/column_definition.js). */
interface Field {
  columnType: number;
  characterSet: number;
  encoding: string;
  extendedFormat?: string | undefined;
}

type State = (this: QueryCommand, packet: Packet, connection: unknown) => unknown;

/** mysql2's Query command, the parts used here (node_modules/mysql2/lib/commands/query.js). */
interface QueryCommand {
  row: State;
  on(event: 'fields', listener: (fields: Field[]) => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
}

// mysql2/lib/constants/types.js
const T = {
  DECIMAL: 0x00, TINY: 0x01, SHORT: 0x02, LONG: 0x03, FLOAT: 0x04, DOUBLE: 0x05, NULL: 0x06, TIMESTAMP: 0x07,
  LONGLONG: 0x08, INT24: 0x09, DATE: 0x0a, TIME: 0x0b, DATETIME: 0x0c, YEAR: 0x0d, VECTOR: 0xf2, JSON: 0xf5,
  NEWDECIMAL: 0xf6, GEOMETRY: 0xff,
} as const;
const BINARY_CHARSET = 63;

const RAW = 0;
/** Digits without their leading zeros (TINYINT … INT, YEAR: numbers in mysql2, an empty field reads 0). */
const INT = 1;
/** The same for digits mysql2 keeps as text (ZEROFILL BIGINT and DECIMAL: an empty field stays empty). */
const INT_TEXT = 6;
const TIMESTAMP = 2;
const TIMESTAMPTZ = 3;
const TIME = 4;
const GENERIC = 5;

const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const BACKSLASH = 92;
const LETTER_T = 84;
const UTC = Buffer.from('+00:00');

/** Bytes that make a field quoted. */
const SPECIAL = new Uint8Array(256);
SPECIAL[COMMA] = 1;
SPECIAL[QUOTE] = 1;
SPECIAL[CR] = 1;
SPECIAL[LF] = 1;

/** Characters of CSV gathered before they are pushed as one chunk (as csv-rows.ts). */
const BATCH_BYTES = 64 * 1024;

const INTEGER_KINDS = new Set(['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']);
/** Kinds whose formatter is not the text as it is (types.ts, mysqlFormatter). */
const FORMATTED_KINDS = new Set(['float32', 'float64', 'time', 'timestamp', 'timestamptz', 'binary']);

/** How a column's wire bytes become its CSV field. */
export function fieldMode(logical: LogicalType, datatype: string, field: Field): number {
  const zerofill = /\bzerofill\b/i.test(datatype);
  const kind = logical.kind;
  const type = field.columnType;
  if (INTEGER_KINDS.has(kind) || kind === 'decimal') {
    // Numbers mysql2 parses: String(number) has no leading zeros; ZEROFILL's formatter strips them.
    if (type === T.TINY || type === T.SHORT || type === T.LONG || type === T.INT24 || type === T.YEAR) return INT;
    if (type === T.LONGLONG || type === T.DECIMAL || type === T.NEWDECIMAL) return zerofill ? INT_TEXT : RAW;
    return GENERIC;
  }
  if (kind === 'timestamp' && (type === T.DATETIME || type === T.TIMESTAMP)) return TIMESTAMP;
  if (kind === 'timestamptz' && (type === T.DATETIME || type === T.TIMESTAMP)) return TIMESTAMPTZ;
  if (kind === 'time' && type === T.TIME) return TIME;
  if (FORMATTED_KINDS.has(kind)) return GENERIC;
  // The formatter is the text as it is: raw when mysql2 would decode it as UTF-8 (or ASCII) text.
  if (field.extendedFormat === 'json') return field.encoding === 'utf8' ? RAW : GENERIC;
  switch (type) {
    case T.DECIMAL: case T.NEWDECIMAL: case T.DATE: case T.DATETIME: case T.TIMESTAMP: case T.TIME: case T.JSON: case T.LONGLONG:
      return RAW;
    case T.TINY: case T.SHORT: case T.LONG: case T.INT24: case T.YEAR:
      return INT;
    case T.FLOAT: case T.DOUBLE: case T.NULL: case T.GEOMETRY: case T.VECTOR:
      return GENERIC;
    default:
      return field.characterSet !== BINARY_CHARSET && field.encoding === 'utf8' ? RAW : GENERIC;
  }
}

/** The value mysql2's text row parser gives a field (text_parser.js readCodeFor, with the connector's options). */
function readValue(packet: Packet, field: Field): unknown {
  if (field.extendedFormat === 'json') return packet.readLengthCodedString(field.encoding);
  switch (field.columnType) {
    case T.TINY: case T.SHORT: case T.LONG: case T.INT24: case T.YEAR:
      return packet.parseLengthCodedIntNoBigCheck();
    case T.LONGLONG:
      return packet.parseLengthCodedIntString();
    case T.FLOAT: case T.DOUBLE:
      return packet.parseLengthCodedFloat();
    case T.NULL:
      return packet.readLengthCodedNumber();
    case T.DECIMAL: case T.NEWDECIMAL: case T.DATE: case T.DATETIME: case T.TIMESTAMP: case T.TIME:
      return packet.readLengthCodedString('ascii');
    case T.GEOMETRY:
      return packet.parseGeometryValue();
    case T.VECTOR:
      return packet.parseVector();
    case T.JSON:
      return packet.readLengthCodedString('utf8');
    default:
      return field.characterSet === BINARY_CHARSET ? packet.readLengthCodedBuffer() : packet.readLengthCodedString(field.encoding);
  }
}

/** The columns of the result: names, logical types, declared types and their formatters. */
export interface ResultColumn {
  name: string;
  logical: LogicalType;
  datatype: string;
  format: Formatter;
}

/**
 * A Readable of the query's CSV (header first); `rows` counts the rows written,
 * `bytes` the CSV bytes pushed; `progress`, when given, is told both per chunk.
 */
export class MysqlCsvReader extends Readable {
  rows = 0;
  bytes = 0;
  private readonly progress: CsvProgress | undefined;
  private readonly connection: mysql.Connection;
  private readonly columns: readonly ResultColumn[];
  private readonly single: boolean;
  private modes: Uint8Array = new Uint8Array(0);
  private fields: Field[] = [];
  private scratch = Buffer.allocUnsafe(2 * BATCH_BYTES);
  private p = 0;
  private scheduled: NodeJS.Immediate | undefined;

  constructor(connection: mysql.Connection, query: unknown, columns: readonly ResultColumn[], progress?: CsvProgress) {
    // A few chunks of read-ahead before the connection is paused.
    super({ highWaterMark: 4 * BATCH_BYTES });
    this.progress = progress;
    this.connection = connection;
    this.columns = columns;
    this.single = columns.length === 1;
    const header = csvHeader(columns.map((c) => c.name));
    this.ensure(header.length);
    this.p = header.copy(this.scratch, 0);
    const command = query as QueryCommand;
    const eof = command.row;
    // The state after the fields' EOF (Query.fieldsEOF answers `this.row`); it keeps itself.
    const row: State = (packet, connection) => {
      if (packet.isEOF()) return eof.call(command, packet, connection);
      this.row(packet);
      return row;
    };
    command.row = row;
    command.on('fields', (fields) => {
      if (fields.length !== columns.length) {
        this.destroy(new Error(`the result has ${fields.length} columns, not ${columns.length}.`));
        return;
      }
      this.fields = fields;
      this.modes = Uint8Array.from(fields, (f, i) => fieldMode(columns[i]!.logical, columns[i]!.datatype, f));
    });
    command.on('end', () => {
      if (this.destroyed) return;
      this.send();
      this.push(null);
    });
    command.on('error', (error) => this.destroy(error));
  }

  override _read(): void {
    this.connection.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    // A paused connection would hold the rest of the result (and the connection) forever.
    this.connection.resume();
    callback(error);
  }

  /** Room for `bytes` more bytes in the scratch buffer. */
  private ensure(bytes: number): void {
    if (this.p + bytes <= this.scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.scratch.length, this.p + bytes));
    this.scratch.copy(grown, 0, 0, this.p);
    this.scratch = grown;
  }

  /** Pushes what is gathered; pauses the connection when the reader is full. */
  private send(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.p === 0 || this.destroyed) return;
    const chunk = Buffer.from(this.scratch.subarray(0, this.p));
    this.p = 0;
    this.bytes += chunk.length;
    const more = this.push(chunk);
    this.progress?.(this.rows, this.bytes);
    if (!more) this.connection.pause();
  }

  /** One row packet into CSV. */
  private row(packet: Packet): void {
    if (this.destroyed) return;
    const b = packet.buffer;
    const modes = this.modes;
    const columns = modes.length;
    // Every field at most doubles (quotes), plus its quotes and separator; GENERIC ones ensure their own room.
    this.ensure(2 * (packet.end - packet.offset) + 3 * columns + 16);
    let o = this.scratch;
    let p = this.p;
    let i = packet.offset;
    for (let col = 0; col < columns; col++) {
      if (col > 0) o[p++] = COMMA;
      const mode = modes[col]!;
      if (mode === GENERIC) {
        packet.offset = i;
        const value = readValue(packet, this.fields[col]!);
        i = packet.offset;
        const text = csvField(value == null ? null : this.columns[col]!.format(value), this.single);
        this.p = p;
        this.ensure(3 * text.length + 3 * (columns - col) + 2 * (packet.end - i) + 16);
        o = this.scratch;
        p += o.write(text, p, 'utf8');
        continue;
      }
      // The field's length (length-encoded integer); 0xfb is NULL.
      let len = b[i++]!;
      if (len >= 0xfb) {
        if (len === 0xfb) continue;
        if (len === 0xfc) {
          len = b[i]! | (b[i + 1]! << 8);
          i += 2;
        } else if (len === 0xfd) {
          len = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
          i += 3;
        } else {
          len = b.readUInt32LE(i) + b.readUInt32LE(i + 4) * 2 ** 32;
          i += 8;
        }
      }
      const s = i;
      const e = i + len;
      i = e;
      if (len === 0) {
        if (mode === INT) {
          o[p++] = ZERO;
          continue;
        }
        o[p++] = QUOTE;
        o[p++] = QUOTE;
        continue;
      }
      if (mode === RAW) {
        const start = p;
        let special = 0;
        if (len > 256) {
          b.copy(o, p, s, e);
          p += len;
          for (let k = s; k < e; k++) special |= SPECIAL[b[k]!]!;
        } else {
          for (let k = s; k < e; k++) {
            const c = b[k]!;
            special |= SPECIAL[c]!;
            o[p++] = c;
          }
        }
        if (special !== 0) {
          p = start;
          o[p++] = QUOTE;
          for (let k = s; k < e; k++) {
            const c = b[k]!;
            o[p++] = c;
            if (c === QUOTE) o[p++] = QUOTE;
          }
          o[p++] = QUOTE;
        } else if (this.single && len === 2 && b[s] === BACKSLASH && b[s + 1] === DOT) {
          o[start] = QUOTE;
          o[start + 1] = BACKSLASH;
          o[start + 2] = DOT;
          o[start + 3] = QUOTE;
          p = start + 4;
        }
        continue;
      }
      if (mode === INT || mode === INT_TEXT) {
        // Leading zeros dropped, a sign kept: `-0042.50` → `-42.50`, `0000` → `0`.
        let k = s;
        if (b[k] === MINUS) o[p++] = b[k++]!;
        while (k + 1 < e && b[k] === ZERO && b[k + 1]! >= ZERO && b[k + 1]! <= ZERO + 9) k++;
        while (k < e) o[p++] = b[k++]!;
        continue;
      }
      // TIMESTAMP, TIMESTAMPTZ, TIME: ASCII; `T` for the space at 10, the fraction's trailing zeros trimmed.
      const start = p;
      for (let k = s; k < e; k++) o[p++] = b[k]!;
      if (mode !== TIME && len > 10 && o[start + 10] === SPACE) o[start + 10] = LETTER_T;
      let dot = -1;
      for (let k = start; k < p; k++) {
        if (o[k] === DOT) {
          dot = k;
          break;
        }
      }
      if (dot >= 0) {
        while (p > dot + 1 && o[p - 1] === ZERO) p--;
        if (p === dot + 1) p = dot;
      }
      if (mode === TIMESTAMPTZ) p += UTC.copy(o, p);
    }
    o[p++] = LF;
    this.p = p;
    this.rows++;
    if (p >= BATCH_BYTES) this.send();
    else this.scheduled ??= setImmediate(() => this.send());
  }
}
