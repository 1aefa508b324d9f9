/**
 * TDS 7.4 token encoders for the SQL Server double (MS-TDS 2.2.7): what a
 * server sends back to tedious. Integers inside tokens are little-endian;
 * B_VARCHAR is a u8 character count + UCS-2, US_VARCHAR a u16 count + UCS-2.
 * Character columns carry their collation; `char`/`varchar` values travel as
 * bytes of its code page (UTF-8 for the _UTF8 collations).
 */
import { encode, representable, type Collation } from './collations.js';

/** The column types the double can put on the wire (TYPE_INFO), and what their values are in JavaScript. */
export type WireType =
  | { type: 'int'; size: 1 | 2 | 4 | 8 } // INTN: number (bigint for size 8)
  | { type: 'bit' } // BITN: boolean
  | { type: 'float'; size: 4 | 8 } // FLTN: number
  | { type: 'varchar' | 'char'; length: number | 'max'; collation: Collation } // BIGVARCHR / BIGCHAR: string, bytes in the collation's code page
  | { type: 'nvarchar' | 'nchar'; length: number | 'max'; collation: Collation } // NVARCHAR / NCHAR: string
  | { type: 'varbinary' | 'binary'; length: number | 'max' }; // BIGVARBIN / BIGBINARY: Buffer

export interface WireColumn {
  name: string;
  type: WireType;
}

const TOKEN = {
  COLMETADATA: 0x81,
  ERROR: 0xaa,
  LOGINACK: 0xad,
  RETURNSTATUS: 0x79,
  ROW: 0xd1,
  NBCROW: 0xd2,
  ENVCHANGE: 0xe3,
  DONE: 0xfd,
  DONEPROC: 0xfe,
  DONEINPROC: 0xff,
} as const;

export const DONE_STATUS = { FINAL: 0x00, MORE: 0x01, ERROR: 0x02, COUNT: 0x10, ATTN: 0x20 } as const;
/** DONE CurCmd values. */
export const CURCMD = { SELECT: 0xc1, NONE: 0x00 } as const;


const u8 = (n: number) => Buffer.from([n & 0xff]);
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}
function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}
const ucs2 = (s: string) => Buffer.from(s, 'utf16le');
/** B_VARCHAR: u8 character count + UCS-2. */
export const bVarchar = (s: string) => Buffer.concat([u8(s.length), ucs2(s)]);
/** US_VARCHAR: u16 character count + UCS-2. */
const usVarchar = (s: string) => Buffer.concat([u16(s.length), ucs2(s)]);
const bVarbyte = (b: Buffer) => Buffer.concat([u8(b.length), b]);

function token(type: number, body: Buffer): Buffer {
  return Buffer.concat([u8(type), u16(body.length), body]);
}

export function loginAck(): Buffer {
  // Interface 1 (SQL_TSQL), TDS 7.4 (big-endian), program name, version 16.0.1000.6.
  const version = Buffer.from([0x74, 0x00, 0x00, 0x04]);
  return token(TOKEN.LOGINACK, Buffer.concat([u8(1), version, bVarchar('Microsoft SQL Server'), Buffer.from([16, 0, 0x03, 0xe8])]));
}

export function envDatabase(name: string): Buffer {
  return token(TOKEN.ENVCHANGE, Buffer.concat([u8(1), bVarchar(name), bVarchar('master')]));
}

/** ENVCHANGE 7: the database's default collation (what tedious sends string parameters with). */
export function envCollation(c: Collation): Buffer {
  return token(TOKEN.ENVCHANGE, Buffer.concat([u8(7), bVarbyte(c.bytes), bVarbyte(Buffer.alloc(0))]));
}

export function envPacketSize(size: number): Buffer {
  return token(TOKEN.ENVCHANGE, Buffer.concat([u8(4), bVarchar(String(size)), bVarchar('4096')]));
}

/** ENVCHANGE 8: a transaction began; its 8-byte descriptor goes into later requests' ALL_HEADERS. */
export function envBeginTransaction(descriptor: Buffer): Buffer {
  return token(TOKEN.ENVCHANGE, Buffer.concat([u8(8), bVarbyte(descriptor), bVarbyte(Buffer.alloc(0))]));
}

/** ENVCHANGE 9 (commit) or 10 (rollback) of the transaction with this descriptor. */
export function envEndTransaction(descriptor: Buffer, commit: boolean): Buffer {
  return token(TOKEN.ENVCHANGE, Buffer.concat([u8(commit ? 9 : 10), bVarbyte(Buffer.alloc(0)), bVarbyte(descriptor)]));
}

export function done(status: number, rowCount = 0n, curCmd: number = CURCMD.NONE, kind: 'DONE' | 'DONEPROC' | 'DONEINPROC' = 'DONE'): Buffer {
  return Buffer.concat([u8(TOKEN[kind]), u16(status), u16(curCmd), u64(rowCount)]);
}

export function returnStatus(value: number): Buffer {
  return Buffer.concat([u8(TOKEN.RETURNSTATUS), i32(value)]);
}

/** An ERROR token as SQL Server sends it: number, state, class (severity), message, server, procedure, line. */
export function errorToken(number: number, message: string, options: { state?: number; severity?: number; line?: number } = {}): Buffer {
  const body = Buffer.concat([
    i32(number),
    u8(options.state ?? 1),
    u8(options.severity ?? 16),
    usVarchar(message),
    bVarchar('tds-double'),
    bVarchar(''),
    i32(options.line ?? 1),
  ]);
  return token(TOKEN.ERROR, body);
}

function typeInfo(t: WireType): Buffer {
  switch (t.type) {
    case 'int':
      return Buffer.from([0x26, t.size]);
    case 'bit':
      return Buffer.from([0x68, 1]);
    case 'float':
      return Buffer.from([0x6d, t.size]);
    case 'varchar':
    case 'char':
      return Buffer.concat([u8(t.type === 'varchar' ? 0xa7 : 0xaf), u16(t.length === 'max' ? 0xffff : t.length), t.collation.bytes]);
    case 'nvarchar':
    case 'nchar':
      return Buffer.concat([u8(t.type === 'nvarchar' ? 0xe7 : 0xef), u16(t.length === 'max' ? 0xffff : t.length * 2), t.collation.bytes]);
    case 'varbinary':
    case 'binary':
      return Buffer.concat([u8(t.type === 'varbinary' ? 0xa5 : 0xad), u16(t.length === 'max' ? 0xffff : t.length)]);
  }
}

export function colMetadata(columns: readonly WireColumn[]): Buffer {
  const parts: Buffer[] = [u8(TOKEN.COLMETADATA), u16(columns.length)];
  for (const c of columns) {
    // UserType 0; flags: nullable (0x0001) | updateable unknown (0x0008 would be read/write).
    parts.push(u32(0), u16(0x0001), typeInfo(c.type), bVarchar(c.name));
  }
  return Buffer.concat(parts);
}

/** PLP (partially length-prefixed) bytes, as (max) types travel: total length, chunks, terminator. */
function plp(bytes: Buffer | null): Buffer {
  if (bytes === null) return Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  const parts: Buffer[] = [u64(BigInt(bytes.length))];
  for (let offset = 0; offset < bytes.length; offset += 8000) {
    const chunk = bytes.subarray(offset, offset + 8000);
    parts.push(u32(chunk.length), chunk);
  }
  parts.push(u32(0));
  return Buffer.concat(parts);
}

function textBytes(t: WireType, value: unknown): Buffer {
  if (t.type === 'varchar' || t.type === 'char') {
    const s = String(value);
    if (!representable(s, t.collation)) throw new Error(`TDS double: '${s}' does not fit a varchar column in ${t.collation.name}`);
    return encode(s, t.collation);
  }
  if (t.type === 'nvarchar' || t.type === 'nchar') return ucs2(String(value));
  if (!Buffer.isBuffer(value)) throw new Error(`TDS double: a ${t.type} value must be a Buffer`);
  return value;
}

function value(t: WireType, v: unknown): Buffer {
  switch (t.type) {
    case 'int': {
      if (v == null) return u8(0);
      const b = Buffer.alloc(t.size);
      if (t.size === 1) b.writeUInt8(Number(v));
      else if (t.size === 2) b.writeInt16LE(Number(v));
      else if (t.size === 4) b.writeInt32LE(Number(v));
      else b.writeBigInt64LE(BigInt(v as bigint | number | string));
      return Buffer.concat([u8(t.size), b]);
    }
    case 'bit':
      return v == null ? u8(0) : Buffer.from([1, v ? 1 : 0]);
    case 'float': {
      if (v == null) return u8(0);
      const b = Buffer.alloc(t.size);
      if (t.size === 4) b.writeFloatLE(Number(v));
      else b.writeDoubleLE(Number(v));
      return Buffer.concat([u8(t.size), b]);
    }
    default: {
      if (t.length === 'max') return plp(v == null ? null : textBytes(t, v));
      if (v == null) return u16(0xffff);
      const bytes = textBytes(t, v);
      return Buffer.concat([u16(bytes.length), bytes]);
    }
  }
}

/** A ROW token, or an NBCROW (null bitmap, then the non-null values) when the row holds a NULL, as SQL Server chooses. */
export function row(columns: readonly WireColumn[], values: readonly unknown[]): Buffer {
  if (!values.some((v) => v == null)) return Buffer.concat([u8(TOKEN.ROW), ...columns.map((c, i) => value(c.type, values[i]))]);
  const bitmap = Buffer.alloc(Math.ceil(columns.length / 8));
  const parts: Buffer[] = [];
  columns.forEach((c, i) => {
    if (values[i] == null) bitmap[i >> 3]! |= 1 << (i % 8);
    else parts.push(value(c.type, values[i]));
  });
  return Buffer.concat([u8(TOKEN.NBCROW), bitmap, ...parts]);
}
