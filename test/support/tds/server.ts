/**
 * A protocol-level SQL Server double: an in-process TCP server on a free
 * loopback port that speaks enough TDS 7.4 for the real `tedious` driver —
 * PRELOGIN (optionally TLS inside PRELOGIN packets, then the whole session in
 * TLS), LOGIN7 with the password checked, SQL_BATCH and RPC (sp_executesql)
 * answered with COLMETADATA, ROW/NBCROW and DONE tokens, ERROR tokens for
 * failures, transactions with ENVCHANGE descriptors, ATTENTION (cancel).
 *
 * What each statement returns comes from an {@link SqlEngine} (see
 * sqlserver-model.ts): SQL text is parsed and evaluated against in-memory
 * databases.
 * A statement nothing recognises is answered with an ERROR token naming it and
 * recorded in {@link TdsDouble.unexpected}, so a test shows exactly what the
 * product sends. The double verifies the client's use of the protocol and the
 * SQL the connector generates; it does not verify SQL Server's semantics
 * (types, conversions and catalog views are emulated, not executed).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { collation } from './collations.js';
import { PACKET, TdsChannel, type TdsMessage } from './wire.js';
import { parseLogin7, parsePrelogin, parseRpc, parseSqlBatch, preloginReply, type Login7, type SqlRequest } from './requests.js';
import {
  CURCMD, DONE_STATUS, colMetadata, done, envBeginTransaction, envCollation, envDatabase, envEndTransaction, envPacketSize, errorToken, loginAck, returnStatus, row,
  type WireColumn,
} from './tokens.js';

/** The state of one client connection, as statements see it. */
export interface TdsSession {
  readonly id: number;
  user: string;
  database: string;
  encrypted: boolean;
  /** The isolation level set with SET TRANSACTION ISOLATION LEVEL (tedious starts sessions at READ COMMITTED). */
  isolation: string;
  /** The open transaction's descriptor (hex), if any, and its isolation. */
  transaction: { descriptor: string; isolation: string } | undefined;
}

/** What one statement produces. */
export type Outcome =
  | { kind: 'rows'; columns: WireColumn[]; rows: Iterable<unknown[]> }
  | { kind: 'done'; rowCount?: number }
  | { kind: 'error'; number: number; message: string; severity?: number; state?: number; rollsBack?: boolean }
  | { kind: 'begin'; isolation: string }
  | { kind: 'end'; commit: boolean };

/** Answers statements; throwing means "not understood". */
export interface SqlEngine {
  databaseExists(name: string): boolean;
  /** The default collation of a database, announced at login (ENVCHANGE 7). */
  collationOf(database: string): string;
  execute(request: SqlRequest, session: TdsSession): Outcome[];
}

/** An error a test makes the server answer; `rollsBack`: the server ends the open transaction with it. */
export interface FaultError {
  number: number;
  message: string;
  severity?: number;
  state?: number;
  rollsBack?: boolean;
}

/** Something a test makes go wrong for the next statement matching `match`. */
export type Fault =
  /** The statement fails with `error`: at once, or after sending `afterRows` rows of its result. */
  | { match: RegExp; error: FaultError; afterRows?: number }
  /** The server drops the connection after sending this many rows of the result. */
  | { match: RegExp; disconnectAfterRows: number };

/** One request the double received, for assertions. */
export interface RecordedRequest extends SqlRequest {
  session: number;
  user: string;
  database: string;
  encrypted: boolean;
  /** The transaction open on the session when the request arrived, if any. */
  inTransaction: { descriptor: string; isolation: string } | undefined;
}

export interface TdsDoubleOptions {
  /** Logins the server accepts: user name → password. */
  logins: Record<string, string>;
  engine: SqlEngine;
  /** Offer TLS (PRELOGIN ENCRYPTION = ON) with this certificate; absent: answer "encryption not supported". */
  tls?: { cert: string; key: string };
  /** With `tls`: require it, as SQL Server's Force Encryption does (ENCRYPTION = REQ to a client that does not support it). */
  forceEncryption?: boolean;
}

/** The SQL tedious sends once after login (`getInitialSql`). */
const INITIAL_SQL = /^set ansi_nulls on\n[\s\S]*\nset xact_abort off$/i;

export class TdsDouble {
  readonly requests: RecordedRequest[] = [];
  /** Statements nothing understood (each was answered with an ERROR token). */
  readonly unexpected: string[] = [];
  /** Logins seen: user, database, application name, whether the session was encrypted; never the password. */
  readonly logins: Array<Pick<Login7, 'userName' | 'database' | 'appName' | 'packetSize'> & { encrypted: boolean; accepted: boolean }> = [];
  /** For each login inside TLS, the server name its ClientHello carried (SNI), false for none. */
  readonly tlsServerNames: Array<string | false> = [];
  readonly faults: Fault[] = [];
  /** Rewrites each statement's text before it runs (a test breaking the SQL the client sent); requests keep the original. */
  rewriteSql: ((sql: string) => string) | undefined;
  private readonly channels: TdsChannel[] = [];
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private nextSession = 51;
  port = 0;

  constructor(readonly options: TdsDoubleOptions) {}

  async start(): Promise<this> {
    this.server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** How many times a write had to wait for a client to read (back-pressure), over all connections. */
  get backpressure(): number {
    return this.channels.reduce((n, c) => n + c.drains, 0);
  }

  /** Connections accepted since the start. */
  accepted = 0;

  /** Connections open now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Drops every open connection, as a failing server or network would. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  private accept(socket: net.Socket): void {
    this.accepted += 1;
    this.sockets.add(socket);
    const session: TdsSession = { id: this.nextSession++, user: '', database: '', encrypted: false, isolation: 'READ COMMITTED', transaction: undefined };
    let queue = Promise.resolve();
    let streaming: { cancelled: boolean } | undefined;
    let attentionPending = false;
    const channel = new TdsChannel(
      socket,
      (message) => {
        if (message.type === PACKET.ATTENTION) {
          if (streaming) streaming.cancelled = true;
          else attentionPending = true;
          return;
        }
        queue = queue.then(() => this.handle(channel, session, message, (s) => (streaming = s))).then(
          async () => {
            streaming = undefined;
            if (attentionPending) {
              attentionPending = false;
              await channel.send(PACKET.TABULAR_RESULT, done(DONE_STATUS.ATTN));
            }
          },
          () => void socket.destroy(),
        );
      },
      () => socket.destroy(),
    );
    this.channels.push(channel);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private async handle(channel: TdsChannel, session: TdsSession, message: TdsMessage, setStreaming: (s: { cancelled: boolean }) => void): Promise<void> {
    switch (message.type) {
      case PACKET.PRELOGIN: {
        const { encryption } = parsePrelogin(message.payload);
        if (this.options.tls && this.options.forceEncryption && encryption === 0x02) {
          await channel.send(PACKET.TABULAR_RESULT, preloginReply(0x03));
          return;
        }
        const offer = this.options.tls && encryption !== 0x02;
        await channel.send(PACKET.TABULAR_RESULT, preloginReply(offer ? 0x01 : 0x02));
        if (offer) channel.startTls(this.options.tls!);
        return;
      }
      case PACKET.LOGIN7:
        return this.login(channel, session, parseLogin7(message.payload));
      case PACKET.SQL_BATCH:
        return this.statement(channel, session, parseSqlBatch(message.payload), setStreaming);
      case PACKET.RPC:
        return this.statement(channel, session, parseRpc(message.payload), setStreaming);
      default: {
        const what = `TDS packet type 0x${message.type.toString(16)}`;
        this.unexpected.push(what);
        await channel.send(PACKET.TABULAR_RESULT, Buffer.concat([errorToken(50000, `TDS double: ${what} is not understood`), done(DONE_STATUS.ERROR)]));
      }
    }
  }

  private async login(channel: TdsChannel, session: TdsSession, login: Login7): Promise<void> {
    session.encrypted = channel.encrypted;
    const known = this.options.logins[login.userName];
    const accepted = known !== undefined && known === login.password;
    this.logins.push({ userName: login.userName, database: login.database, appName: login.appName, packetSize: login.packetSize, encrypted: channel.encrypted, accepted });
    if (channel.tlsServerName !== undefined) this.tlsServerNames.push(channel.tlsServerName);
    if (!accepted) {
      await channel.send(PACKET.TABULAR_RESULT, Buffer.concat([errorToken(18456, `Login failed for user '${login.userName}'.`, { severity: 14 }), done(DONE_STATUS.ERROR)]));
      return;
    }
    const database = login.database || 'master';
    if (!this.options.engine.databaseExists(database)) {
      const text = `Cannot open database "${database}" requested by the login. The login failed.`;
      await channel.send(PACKET.TABULAR_RESULT, Buffer.concat([errorToken(4060, text, { severity: 11 }), errorToken(18456, `Login failed for user '${login.userName}'.`, { severity: 14 }), done(DONE_STATUS.ERROR)]));
      return;
    }
    session.user = login.userName;
    session.database = database;
    const size = Math.min(Math.max(login.packetSize || 4096, 512), 32767);
    const defaultCollation = collation(this.options.engine.collationOf(database));
    await channel.send(PACKET.TABULAR_RESULT, Buffer.concat([envDatabase(database), envCollation(defaultCollation), loginAck(), envPacketSize(size), done(DONE_STATUS.FINAL)]));
    channel.packetSize = size;
  }

  private async statement(channel: TdsChannel, session: TdsSession, request: SqlRequest, setStreaming: (s: { cancelled: boolean }) => void): Promise<void> {
    if (request.kind === 'batch' && INITIAL_SQL.test(request.sql.trim())) {
      await channel.send(PACKET.TABULAR_RESULT, done(DONE_STATUS.FINAL));
      return;
    }
    this.requests.push({ ...request, session: session.id, user: session.user, database: session.database, encrypted: channel.encrypted, inTransaction: session.transaction && { ...session.transaction } });
    if (this.rewriteSql) request = { ...request, sql: this.rewriteSql(request.sql) };
    const fault = this.takeFault(request.sql);
    let outcomes: Outcome[];
    if (fault && 'error' in fault && fault.afterRows === undefined) {
      outcomes = [{ kind: 'error', ...fault.error }];
    } else {
      try {
        outcomes = this.options.engine.execute(request, session);
      } catch (error) {
        this.unexpected.push(request.sql);
        outcomes = [{ kind: 'error', number: 50000, message: `TDS double: ${(error as Error).message}` }];
      }
    }
    if (outcomes.length === 0) outcomes = [{ kind: 'done' }];
    const state = { cancelled: false };
    setStreaming(state);
    const out = channel.message(PACKET.TABULAR_RESULT);
    const rpc = request.kind === 'rpc';
    for (const [index, outcome] of outcomes.entries()) {
      const last = index === outcomes.length - 1;
      const more = last ? 0 : DONE_STATUS.MORE;
      const doneKind = rpc ? 'DONEINPROC' : 'DONE';
      switch (outcome.kind) {
        case 'rows': {
          await out.write(colMetadata(outcome.columns));
          let count = 0;
          try {
            for (const values of outcome.rows) {
              if (state.cancelled) break;
              if (fault && 'disconnectAfterRows' in fault && count === fault.disconnectAfterRows) {
                channel.close();
                return;
              }
              if (fault && 'error' in fault && count === fault.afterRows) throw fault.error;
              await out.write(row(outcome.columns, values));
              count++;
            }
          } catch (error) {
            // A value the statement cannot produce (e.g. an overflowing CAST) fails it mid-result, as on a server.
            const e = error as Partial<FaultError> & { message: string };
            if (e.number === undefined) this.unexpected.push(`${request.sql}: ${e.message}`);
            await out.write(errorToken(e.number ?? 50000, e.number === undefined ? `TDS double: ${e.message}` : e.message, e));
            if (e.rollsBack) await out.write(this.rollBack(session));
            await out.end(done(DONE_STATUS.ERROR, 0n, CURCMD.NONE, rpc ? 'DONEPROC' : 'DONE'));
            return;
          }
          if (state.cancelled) {
            await out.end(done(DONE_STATUS.ATTN));
            return;
          }
          await out.write(done(DONE_STATUS.COUNT | more, BigInt(count), CURCMD.SELECT, doneKind));
          break;
        }
        case 'error':
          await out.write(errorToken(outcome.number, outcome.message, outcome));
          if (outcome.rollsBack) await out.write(this.rollBack(session));
          await out.write(done(DONE_STATUS.ERROR | more, 0n, CURCMD.NONE, doneKind));
          break;
        case 'begin': {
          const descriptor = randomBytes(8);
          session.transaction = { descriptor: descriptor.toString('hex'), isolation: outcome.isolation };
          await out.write(envBeginTransaction(descriptor));
          await out.write(done(more, 0n, CURCMD.NONE, doneKind));
          break;
        }
        case 'end': {
          const descriptor = session.transaction ? Buffer.from(session.transaction.descriptor, 'hex') : Buffer.alloc(8);
          session.transaction = undefined;
          await out.write(envEndTransaction(descriptor, outcome.commit));
          await out.write(done(more, 0n, CURCMD.NONE, doneKind));
          break;
        }
        case 'done':
          await out.write(done(more | (outcome.rowCount !== undefined ? DONE_STATUS.COUNT : 0), BigInt(outcome.rowCount ?? 0), CURCMD.NONE, doneKind));
          break;
      }
    }
    const failed = outcomes.some((o) => o.kind === 'error');
    await out.end(rpc ? Buffer.concat([returnStatus(failed ? 1 : 0), done(failed ? DONE_STATUS.ERROR : DONE_STATUS.FINAL, 0n, CURCMD.NONE, 'DONEPROC')]) : undefined);
  }

  /** The server ends the session's transaction itself (after a deadlock or a snapshot conflict): ENVCHANGE 10. */
  private rollBack(session: TdsSession): Buffer {
    if (!session.transaction) return Buffer.alloc(0);
    const descriptor = Buffer.from(session.transaction.descriptor, 'hex');
    session.transaction = undefined;
    return envEndTransaction(descriptor, false);
  }

  private takeFault(sql: string): Fault | undefined {
    const index = this.faults.findIndex((f) => f.match.test(sql));
    return index < 0 ? undefined : this.faults.splice(index, 1)[0];
  }
}
