import type net from 'node:net';
import { AppError } from '../../errors.js';
import { describeSource, type SqlSourceConfig } from '../../contract/index.js';
import { checkedAddress, connectTcp } from '../egress/dial.js';
import { SourceHosts } from '../egress/source-hosts.js';

/** The TDS packet type of LOGIN7, the login carrying the password, merely obfuscated (TDS 2.2.6.4). */
const LOGIN7 = 0x10;

/** What the connection's settings say about the password's way to the server. */
export interface LoginSecurity {
  encrypt: boolean;
  trustServerCertificate: boolean;
  allowInsecurePasswordAuth: boolean;
}

/**
 * SQL Server has no password exchange to choose: LOGIN7 carries the password
 * obfuscated by a fixed nibble swap and XOR, as good as clear text. It is safe
 * only inside TLS whose certificate is verified: without TLS
 * (SOURCE_MSSQL_ENCRYPT=false) anyone on the path reads it, and with any
 * certificate accepted (SOURCE_MSSQL_TRUST_SERVER_CERTIFICATE=true) so does a
 * server the caller chose. Such settings are refused before connecting unless
 * SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true.
 */
export function assertLoginSecure(source: SqlSourceConfig, security: LoginSecurity): void {
  if (security.allowInsecurePasswordAuth || (security.encrypt && !security.trustServerCertificate)) return;
  const setting = security.encrypt ? 'SOURCE_MSSQL_TRUST_SERVER_CERTIFICATE=true' : 'SOURCE_MSSQL_ENCRYPT=false';
  throw new AppError(
    'SOURCE_INSECURE_AUTH',
    `The password for the ${describeSource(source)} would travel merely obfuscated (SQL Server's login packet) over a connection that is not TLS with a verified certificate (${setting}); it was not sent. ` +
      'Verify the server\'s certificate (SOURCE_TLS_CA_FILE), or set SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true only where the network path to the source is trusted.',
  );
}

/** The socket error raised when a login was about to leave without the TLS the settings require. */
export class PlaintextLogin extends Error {
  constructor() {
    super('the server did not start TLS; the login packet was not sent');
    this.name = 'PlaintextLogin';
  }
}

/** The TDS packet type of PRELOGIN, which also carries the TLS handshake until it completes (TDS 2.2.6.5). */
const PRELOGIN = 0x12;

/**
 * Stops a LOGIN7 packet from leaving in plain text. Until the login, tedious
 * writes PRELOGIN packets only (the TLS handshake travels inside them); the
 * first write of another kind is the login: with TLS it leaves as a TLS record
 * (content type 0x14–0x17), without it as a raw LOGIN7 packet, which means the
 * server did not start TLS (tedious 19 carries on in plain text when a server
 * answers that it does not support encryption). That socket is destroyed
 * instead, and nothing of the login is written. Only that first write is
 * looked at: later writes are TLS records cut wherever the stream cuts them,
 * and a piece may start with any byte, 0x10 included.
 */
export function refusePlaintextLogin(socket: net.Socket): net.Socket {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (Buffer.isBuffer(chunk) && chunk.length > 0 && chunk[0] !== PRELOGIN) {
      socket.write = write as typeof socket.write;
      if (chunk[0] === LOGIN7) {
        socket.destroy(new PlaintextLogin());
        return false;
      }
    }
    return write(chunk, ...rest);
  }) as typeof socket.write;
  return socket;
}

/**
 * tedious' `connector`: each connection (the first, and any the server
 * redirects to) dials an address SOURCE_ALLOWED_HOSTS allows, resolved once
 * and checked; TLS still verifies the host name tedious was given. With TLS
 * required, a login never leaves in plain text.
 */
export function guardedConnector(source: SqlSourceConfig, hosts: SourceHosts | undefined, encrypt: boolean) {
  const where = describeSource(source);
  return async (to?: { host?: string; port?: number }, _lookup?: unknown, signal?: AbortSignal): Promise<net.Socket> => {
    const host = to?.host ?? source.host_url;
    const port = to?.port ?? source.port;
    const target = await checkedAddress(hosts ?? SourceHosts.unrestricted(), host, port, where);
    const socket = await connectTcp(target, port, signal);
    return encrypt ? refusePlaintextLogin(socket) : socket;
  };
}
