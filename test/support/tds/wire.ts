/**
 * TDS framing for the SQL Server double: packets in, whole messages out, and
 * the TLS handshake carried inside PRELOGIN packets (TDS 7.x), after which the
 * whole conversation runs inside TLS.
 *
 * Packet header (8 bytes): type u8, status u8 (0x01 end of message), length
 * u16 big-endian (header included), SPID u16 BE, packet id u8, window u8.
 */
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Socket } from 'node:net';

export const PACKET = {
  SQL_BATCH: 0x01,
  RPC: 0x03,
  TABULAR_RESULT: 0x04,
  ATTENTION: 0x06,
  TRANSACTION_MANAGER: 0x0e,
  LOGIN7: 0x10,
  PRELOGIN: 0x12,
} as const;

const HEADER = 8;
const EOM = 0x01;

/** A server message being written. */
export interface MessageWriter {
  write(bytes: Buffer): Promise<void>;
  end(bytes?: Buffer): Promise<void>;
}

/** A whole client message: its packet type and the concatenated payloads. */
export interface TdsMessage {
  type: number;
  payload: Buffer;
}

/** Reassembles packets from a byte stream into messages. */
export class MessageReader {
  private buffered: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];

  constructor(private readonly onMessage: (message: TdsMessage) => void) {}

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= HEADER) {
      const length = this.buffered.readUInt16BE(2);
      if (length < HEADER) throw new Error(`TDS double: packet length ${length} is shorter than its header`);
      if (this.buffered.length < length) return;
      const type = this.buffered[0]!;
      const status = this.buffered[1]!;
      this.parts.push(this.buffered.subarray(HEADER, length));
      this.buffered = this.buffered.subarray(length);
      if (status & EOM) {
        const payload = Buffer.concat(this.parts);
        this.parts = [];
        this.onMessage({ type, payload });
      }
    }
  }
}

/** A message split into packets of at most `packetSize` bytes. */
export function packets(type: number, payload: Buffer, packetSize: number): Buffer[] {
  const room = packetSize - HEADER;
  const out: Buffer[] = [];
  let id = 1;
  for (let offset = 0; offset < payload.length || out.length === 0; offset += room) {
    const part = payload.subarray(offset, offset + room);
    const last = offset + room >= payload.length;
    const header = Buffer.alloc(HEADER);
    header[0] = type;
    header[1] = last ? EOM : 0;
    header.writeUInt16BE(HEADER + part.length, 2);
    header.writeUInt16BE(51, 4);
    header[6] = id++ % 256;
    out.push(Buffer.concat([header, part]));
  }
  return out;
}

/** Whether TLS 1.2 records make up a whole server flight (complete records, ending a flight). */
function flightComplete(bytes: Buffer): boolean {
  let at = 0;
  let changedCipher = false;
  let encryptedAfter = 0;
  let helloDone = false;
  while (at + 5 <= bytes.length) {
    const type = bytes[at]!;
    const length = bytes.readUInt16BE(at + 3);
    if (at + 5 + length > bytes.length) return false;
    const body = bytes.subarray(at + 5, at + 5 + length);
    if (type === 21) return true; // an alert: the handshake failed, the client hears why
    if (type === 20) changedCipher = true;
    else if (type === 22 && changedCipher) encryptedAfter++;
    // ServerHelloDone: handshake type 14 with an empty body, last in the first flight.
    else if (type === 22) helloDone = body.length >= 4 && body.subarray(-4).equals(Buffer.from([0x0e, 0, 0, 0]));
    at += 5 + length;
  }
  return at === bytes.length && at > 0 && (helloDone || encryptedAfter > 0);
}

/** Two connected in-memory duplex streams: what one writes, the other reads, with back-pressure. */
function duplexPair(): [Duplex, Duplex] {
  type End = Duplex & { peer?: End; blocked?: () => void };
  const make = (): End => {
    const end: End = new Duplex({
      read() {
        // Our reader wants more: release the peer's write that was held back.
        const release = end.peer!.blocked;
        end.peer!.blocked = undefined;
        release?.();
      },
      write(chunk: Buffer, _encoding, callback) {
        if (end.peer!.push(chunk)) callback();
        else end.blocked = callback;
      },
      final(callback) {
        end.peer!.push(null);
        callback();
      },
    });
    return end;
  };
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/**
 * The double's side of one connection: bytes in (plain, or from inside TLS
 * once negotiated), messages out through {@link send}, with back-pressure.
 */
export class TdsChannel {
  private readonly reader: MessageReader;
  private secure: tls.TLSSocket | undefined;
  /** While the handshake runs: the encrypted end of the TLS socket, and what it produced since the last flight. */
  private handshake: { wire: Duplex; tls: tls.TLSSocket; out: Buffer[]; done: boolean } | undefined;
  packetSize = 4096;

  constructor(
    private readonly socket: Socket,
    onMessage: (message: TdsMessage) => void,
    private readonly onError: (error: Error) => void,
  ) {
    this.reader = new MessageReader(onMessage);
    socket.on('data', (chunk: Buffer) => {
      if (this.secure) return;
      if (this.handshake) return this.handshakeBytes(chunk);
      this.safely(() => this.reader.push(chunk));
    });
  }

  get encrypted(): boolean {
    return this.secure !== undefined;
  }

  /** The server name the client sent in its TLS ClientHello (SNI), false when it sent none; undefined without TLS. */
  get tlsServerName(): string | false | undefined {
    if (!this.secure) return undefined;
    return this.secure.servername ?? false;
  }

  private safely(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.onError(error as Error);
    }
  }

  /**
   * Starts TLS: from now on the client's PRELOGIN packets carry TLS handshake
   * records, answered one flight per message; when the handshake completes,
   * everything flows inside TLS.
   */
  startTls(context: { cert: string; key: string }): void {
    const [inner, wire] = duplexPair();
    const socket = new tls.TLSSocket(inner, { isServer: true, secureContext: tls.createSecureContext(context) });
    const state = { wire, tls: socket, out: [] as Buffer[], done: false };
    this.handshake = state;
    const collect = (chunk: Buffer) => state.out.push(chunk);
    wire.on('data', collect);
    socket.on('secure', () => (state.done = true));
    socket.on('error', (error) => this.onError(error));
  }

  private handshakeReader = new MessageReader((message) => {
    const state = this.handshake!;
    if (message.type !== PACKET.PRELOGIN) {
      this.onError(new Error(`TDS double: expected a TLS handshake PRELOGIN packet, got type 0x${message.type.toString(16)}`));
      return;
    }
    state.wire.write(message.payload);
    this.flushFlight().catch((error: Error) => this.onError(error));
  });

  private handshakeBytes(chunk: Buffer): void {
    this.safely(() => this.handshakeReader.push(chunk));
  }

  /**
   * Sends what the TLS socket produced for one client flight as one PRELOGIN
   * message (tedious reads exactly one answer per handshake message), once the
   * flight is complete: it ends with ServerHelloDone, or carries
   * ChangeCipherSpec and the encrypted Finished, or an alert.
   */
  private async flushFlight(): Promise<void> {
    const state = this.handshake!;
    for (let waited = 0; !flightComplete(Buffer.concat(state.out)); waited += 2) {
      if (waited > 5000) throw new Error('TDS double: the TLS handshake stalled');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const flight = Buffer.concat(state.out);
    state.out = [];
    if (flight.length > 0) for (const p of packets(PACKET.PRELOGIN, flight, 4096)) this.socket.write(p);
    if (state.done) {
      this.secure = state.tls;
      this.handshake = undefined;
      this.socket.removeAllListeners('data');
      state.wire.removeAllListeners('data');
      this.socket.pipe(state.wire);
      state.wire.pipe(this.socket);
      state.tls.on('data', (chunk: Buffer) => this.safely(() => this.reader.push(chunk)));
    }
  }

  /**
   * Starts one server message: bytes written to it leave in full packets as
   * they accumulate, the last packet (end of message) at `end`. Writing waits
   * while the peer is not reading, so a big result never piles up in memory.
   */
  message(type: number): MessageWriter {
    let pending: Buffer[] = [];
    let size = 0;
    let id = 1;
    const flush = async (last: boolean) => {
      let rest = Buffer.concat(pending);
      const room = this.packetSize - HEADER;
      while (rest.length > room || last) {
        const part = rest.subarray(0, room);
        rest = rest.subarray(part.length);
        const final = last && rest.length === 0;
        const header = Buffer.alloc(HEADER);
        header[0] = type;
        header[1] = final ? EOM : 0;
        header.writeUInt16BE(HEADER + part.length, 2);
        header.writeUInt16BE(51, 4);
        header[6] = id++ % 256;
        await this.write(Buffer.concat([header, part]));
        if (final) break;
      }
      pending = [rest];
      size = rest.length;
    };
    return {
      write: async (bytes: Buffer) => {
        pending.push(bytes);
        size += bytes.length;
        if (size > this.packetSize) await flush(false);
      },
      end: async (bytes?: Buffer) => {
        if (bytes) pending.push(bytes);
        await flush(true);
      },
    };
  }

  /** Sends a whole message at once. */
  async send(type: number, payload: Buffer): Promise<void> {
    await this.message(type).end(payload);
  }

  private async write(packet: Buffer): Promise<void> {
    const target: Duplex = this.secure ?? this.socket;
    if (target.destroyed || !target.writable) throw new Error('TDS double: the client went away');
    if (target.write(packet)) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        target.off('close', gone);
        resolve();
      };
      const gone = () => {
        target.off('drain', done);
        reject(new Error('TDS double: the client went away'));
      };
      target.once('drain', done);
      target.once('close', gone);
    });
    this.drains++;
  }

  /** How many times a write had to wait for the client to read (back-pressure seen). */
  drains = 0;

  close(): void {
    this.secure?.destroy();
    this.socket.destroy();
  }
}
