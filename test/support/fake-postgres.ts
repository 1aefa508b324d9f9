/**
 * A hostile "PostgreSQL server" on loopback: what a caller who points a source
 * at a host of their own would run. It speaks just enough of the protocol
 * (SSLRequest, StartupMessage, one authentication request) to ask for the
 * password in clear text or as MD5, and records every password message it
 * receives, then refuses the login (28P01) like a real server would. With
 * `tls`, it answers an SSLRequest with TLS on the given certificate.
 */
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { listenOnLoopback, type LoopbackServer } from './listeners.js';

export type FakeAuth = 'cleartext' | 'md5';

export interface FakePostgres extends LoopbackServer {
  host: string;
  /** Whether each connection's startup travelled inside TLS. */
  readonly encrypted: boolean[];
  /** The payload of every password message received (a clear-text password, or `md5…`). */
  readonly passwords: string[];
}

const SSL_REQUEST = 80877103;
const PROTOCOL_3 = 196608;

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function authRequest(auth: FakeAuth): Buffer {
  const body = Buffer.alloc(auth === 'md5' ? 8 : 4);
  body.writeInt32BE(auth === 'md5' ? 5 : 3, 0);
  if (auth === 'md5') randomBytes(4).copy(body, 4);
  return message('R', body);
}

function loginRefused(): Buffer {
  const fields = ['SFATAL', 'VFATAL', 'C28P01', 'Mpassword authentication failed'].map((f) => Buffer.from(`${f}\0`, 'utf8'));
  return message('E', Buffer.concat([...fields, Buffer.from([0])]));
}

/** Reads length-prefixed messages from a stream: the first ones untyped (startup), the rest typed. */
function reader(stream: net.Socket | tls.TLSSocket, onMessage: (type: string | undefined, body: Buffer) => void): { typed(): void } {
  let buffer = Buffer.alloc(0);
  let typed = false;
  stream.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const offset = typed ? 1 : 0;
      if (buffer.length < offset + 4) return;
      const length = buffer.readInt32BE(offset);
      if (buffer.length < offset + length) return;
      const type = typed ? buffer.toString('latin1', 0, 1) : undefined;
      const body = buffer.subarray(offset + 4, offset + length);
      buffer = buffer.subarray(offset + length);
      onMessage(type, body);
    }
  });
  return { typed: () => void (typed = true) };
}

/** Starts the fake on 127.0.0.1, asking every client for its password the way `auth` says. */
export async function startFakePostgres(auth: FakeAuth, options: { tls?: { cert: string; key: string } } = {}): Promise<FakePostgres> {
  const passwords: string[] = [];
  const encrypted: boolean[] = [];

  const converse = (stream: net.Socket | tls.TLSSocket, secure: boolean) => {
    const r = reader(stream, (type, body) => {
      if (type === undefined) {
        const code = body.readInt32BE(0);
        if (code === SSL_REQUEST) {
          if (!options.tls) return void stream.write('N');
          stream.removeAllListeners('data');
          stream.write('S', () => converse(new tls.TLSSocket(stream, { isServer: true, cert: options.tls!.cert, key: options.tls!.key }).on('error', () => undefined), true));
          return;
        }
        if (code !== PROTOCOL_3) return void stream.destroy();
        encrypted.push(secure);
        r.typed();
        stream.write(authRequest(auth));
        return;
      }
      if (type === 'p') {
        passwords.push(body.toString('utf8').replace(/\0$/, ''));
        stream.end(loginRefused());
      }
    });
  };

  const listening = await listenOnLoopback(net.createServer((socket) => converse(socket, false)));
  return Object.assign(listening, { host: '127.0.0.1', encrypted, passwords });
}
