/**
 * Decoders for what tedious sends the SQL Server double: PRELOGIN options,
 * LOGIN7 (with the password's obfuscation undone), SQL_BATCH and RPC
 * (sp_executesql with its parameters), each after its ALL_HEADERS.
 */

export interface Prelogin {
  /** ENCRYPTION option: 0 off, 1 on, 2 not supported, 3 required. */
  encryption: number;
}

export function parsePrelogin(payload: Buffer): Prelogin {
  let encryption = -1;
  for (let i = 0; payload[i] !== 0xff && i + 5 <= payload.length; i += 5) {
    const token = payload[i]!;
    const offset = payload.readUInt16BE(i + 1);
    if (token === 0x01) encryption = payload[offset]!;
  }
  return { encryption };
}

/** The PRELOGIN answer: VERSION and ENCRYPTION (0x01 on, 0x02 not supported, 0x03 required). */
export function preloginReply(encryption: number): Buffer {
  const version = Buffer.from([16, 0, 0x03, 0xe8, 0, 0]);
  const options = [
    { token: 0x00, data: version },
    { token: 0x01, data: Buffer.from([encryption]) },
  ];
  const tableLength = options.length * 5 + 1;
  const table = Buffer.alloc(tableLength);
  let offset = tableLength;
  options.forEach((o, i) => {
    table[i * 5] = o.token;
    table.writeUInt16BE(offset, i * 5 + 1);
    table.writeUInt16BE(o.data.length, i * 5 + 3);
    offset += o.data.length;
  });
  table[tableLength - 1] = 0xff;
  return Buffer.concat([table, ...options.map((o) => o.data)]);
}

export interface Login7 {
  tdsVersion: number;
  packetSize: number;
  hostName: string;
  userName: string;
  password: string;
  appName: string;
  serverName: string;
  database: string;
}

/** A LOGIN7 field: offset and length (in characters) at `at`, offsets from the start of the payload. */
function field(payload: Buffer, at: number): Buffer {
  const offset = payload.readUInt16LE(at);
  const length = payload.readUInt16LE(at + 2);
  return payload.subarray(offset, offset + length * 2);
}

export function parseLogin7(payload: Buffer): Login7 {
  // The password travels with each byte's nibbles swapped and XORed with 0xA5.
  const obfuscated = Buffer.from(field(payload, 44));
  for (let i = 0; i < obfuscated.length; i++) {
    const b = obfuscated[i]! ^ 0xa5;
    obfuscated[i] = ((b & 0x0f) << 4) | (b >> 4);
  }
  return {
    tdsVersion: payload.readUInt32BE(4),
    packetSize: payload.readUInt32LE(8),
    hostName: field(payload, 36).toString('utf16le'),
    userName: field(payload, 40).toString('utf16le'),
    password: obfuscated.toString('utf16le'),
    appName: field(payload, 48).toString('utf16le'),
    serverName: field(payload, 52).toString('utf16le'),
    database: field(payload, 68).toString('utf16le'),
  };
}

/** ALL_HEADERS: the transaction descriptor the client sends with each request (zeros outside a transaction). */
function allHeaders(payload: Buffer): { descriptor: Buffer; rest: Buffer } {
  const total = payload.readUInt32LE(0);
  let descriptor = Buffer.alloc(8);
  for (let at = 4; at < total; ) {
    const length = payload.readUInt32LE(at);
    const type = payload.readUInt16LE(at + 4);
    if (type === 2) descriptor = Buffer.from(payload.subarray(at + 6, at + 14));
    at += length;
  }
  return { descriptor, rest: payload.subarray(total) };
}

export interface SqlRequest {
  kind: 'batch' | 'rpc';
  sql: string;
  /** RPC parameters by name, without the `@`. */
  params: Record<string, unknown>;
  /** The transaction descriptor from ALL_HEADERS, hex. */
  transaction: string;
}

export function parseSqlBatch(payload: Buffer): SqlRequest {
  const { descriptor, rest } = allHeaders(payload);
  return { kind: 'batch', sql: rest.toString('utf16le'), params: {}, transaction: descriptor.toString('hex') };
}

class Cursor {
  constructor(
    private readonly buf: Buffer,
    public at = 0,
  ) {}
  u8(): number {
    return this.buf[this.at++]!;
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  bytes(n: number): Buffer {
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  get done(): boolean {
    return this.at >= this.buf.length;
  }
}

/** A PLP value: u64 total (all ones: NULL), then u32-length chunks up to a zero terminator. */
function readPlp(c: Cursor): Buffer | null {
  const low = c.u32();
  const high = c.u32();
  if (low === 0xffffffff && high === 0xffffffff) return null;
  const parts: Buffer[] = [];
  for (let length = c.u32(); length !== 0; length = c.u32()) parts.push(c.bytes(length));
  return Buffer.concat(parts);
}

/** One RPC parameter value for the TYPE_INFO tedious sends (NVARCHAR, INTN, BITN). */
function readParam(c: Cursor, name: string): unknown {
  const type = c.u8();
  switch (type) {
    case 0xe7: {
      const maxLength = c.u16();
      c.bytes(5);
      if (maxLength === 0xffff) return readPlp(c)?.toString('utf16le') ?? null;
      const length = c.u16();
      return length === 0xffff ? null : c.bytes(length).toString('utf16le');
    }
    case 0x26: {
      c.u8();
      const length = c.u8();
      if (length === 0) return null;
      const b = c.bytes(length);
      return length === 1 ? b.readUInt8(0) : length === 2 ? b.readInt16LE(0) : length === 4 ? b.readInt32LE(0) : b.readBigInt64LE(0);
    }
    case 0x68: {
      c.u8();
      const length = c.u8();
      return length === 0 ? null : c.u8() === 1;
    }
    default:
      throw new Error(`TDS double: RPC parameter ${name} has TYPE_INFO 0x${type.toString(16)}, which it does not decode`);
  }
}

/** An RPC request; tedious' execSql always calls sp_executesql (ProcID 10): @stmt, @params, then the parameters. */
export function parseRpc(payload: Buffer): SqlRequest {
  const { descriptor, rest } = allHeaders(payload);
  const c = new Cursor(rest);
  const nameLength = c.u16();
  if (nameLength !== 0xffff) throw new Error(`TDS double: RPC by name (${c.bytes(nameLength * 2).toString('utf16le')}) is not understood`);
  const procId = c.u16();
  if (procId !== 10) throw new Error(`TDS double: RPC ProcID ${procId} is not sp_executesql`);
  c.u16(); // option flags
  const values: Array<[string, unknown]> = [];
  while (!c.done) {
    const name = c.bytes(c.u8() * 2).toString('utf16le');
    c.u8(); // status flags
    values.push([name, readParam(c, name)]);
  }
  const [statement, , ...rest2] = values;
  const params: Record<string, unknown> = {};
  for (const [name, value] of rest2) params[name.replace(/^@/, '')] = value;
  return { kind: 'rpc', sql: String(statement?.[1] ?? ''), params, transaction: descriptor.toString('hex') };
}
