/**
 * A hostile "MySQL server" on loopback: what a caller who points a source at a
 * host of their own would run. It sends a handshake, takes the client's
 * response, and switches authentication to a method that hands it the
 * password, recording whatever it gets, then refuses the login (1045):
 *
 * - `mysql_clear_password` and MariaDB's `dialog`: the password in clear text;
 * - `caching_sha2_password` full authentication: after the client's hash it
 *   asks for the password itself; without TLS the client asks for the
 *   server's RSA key, and since the key is the fake's own, it decrypts what
 *   comes back and records the password.
 *
 * With `tls`, the handshake offers TLS and an SSLRequest upgrades the
 * connection on the given certificate.
 */
import { constants, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { listenOnLoopback, type LoopbackServer } from './listeners.js';

export type FakeMysqlAuth = 'mysql_clear_password' | 'dialog' | 'caching_sha2_password';

export interface FakeMysql extends LoopbackServer {
  host: string;
  /** Every password the fake received or decrypted. */
  readonly passwords: string[];
  /** Every auth packet the client sent after the switch, in hex (what reached the fake). */
  readonly authPackets: string[];
  /** Whether each login travelled inside TLS. */
  readonly encrypted: boolean[];
}

/** Capabilities of the handshake: protocol 4.1, secure connection, plugin auth, connect with db. */
const CAPABILITIES = 0x00000001 | 0x00000004 | 0x00000008 | 0x00000200 | 0x00002000 | 0x00008000 | 0x00080000 | 0x00200000;
/** CLIENT_SSL: offered with `tls`; the client's SSLRequest is a 32-byte packet carrying it. */
const CLIENT_SSL = 0x00000800;

function packet(seq: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUIntLE(payload.length, 0, 3);
  head.writeUInt8(seq & 0xff, 3);
  return Buffer.concat([head, payload]);
}

function handshake(scramble: Buffer, offerTls: boolean): Buffer {
  const caps = Buffer.alloc(4);
  caps.writeUInt32LE((CAPABILITIES | (offerTls ? CLIENT_SSL : 0)) >>> 0);
  const id = Buffer.alloc(4);
  id.writeUInt32LE(7);
  return Buffer.concat([
    Buffer.from([0x0a]),
    Buffer.from('8.0.36-fake\0'),
    id,
    scramble.subarray(0, 8),
    Buffer.from([0]),
    caps.subarray(0, 2),
    Buffer.from([0x21]),
    Buffer.from([0x02, 0x00]),
    caps.subarray(2, 4),
    Buffer.from([21]),
    Buffer.alloc(10),
    scramble.subarray(8, 20),
    Buffer.from([0]),
    Buffer.from('mysql_native_password\0'),
  ]);
}

function accessDenied(): Buffer {
  const code = Buffer.alloc(2);
  code.writeUInt16LE(1045);
  return Buffer.concat([Buffer.from([0xff]), code, Buffer.from('#28000Access denied for user')]);
}

/** Starts the fake on 127.0.0.1, switching every client to `auth`. */
export async function startFakeMysql(auth: FakeMysqlAuth, options: { tls?: { cert: string; key: string } } = {}): Promise<FakeMysql> {
  const passwords: string[] = [];
  const authPackets: string[] = [];
  const encrypted: boolean[] = [];
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  /** The conversation after the handshake, on the raw socket or, after an SSLRequest, on TLS. */
  const converse = (stream: net.Socket | tls.TLSSocket, secure: boolean, switchScramble: Buffer) => {
    let buffer = Buffer.alloc(0);
    let step = 0;
    let keySent = false;
    const send = (seq: number, payload: Buffer) => stream.write(packet(seq, payload));
    const refuse = (seq: number) => stream.end(packet(seq, accessDenied()));
    stream.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 4) {
        const length = buffer.readUIntLE(0, 3);
        if (buffer.length < 4 + length) return;
        const seq = buffer.readUInt8(3);
        const payload = buffer.subarray(4, 4 + length);
        buffer = buffer.subarray(4 + length);
        if (step === 0 && !secure && options.tls && length === 32 && (payload.readUInt32LE(0) & CLIENT_SSL) !== 0) {
          // The client starts TLS at once: its first bytes may have come with the request.
          stream.removeAllListeners('data');
          stream.pause();
          if (buffer.length > 0) stream.unshift(buffer);
          converse(new tls.TLSSocket(stream, { isServer: true, cert: options.tls.cert, key: options.tls.key }).on('error', () => undefined), true, switchScramble);
          return;
        }
        step += 1;
        if (step === 1) {
          // The handshake response: switch to the method that gives the password away.
          encrypted.push(secure);
          const data = auth === 'dialog' ? Buffer.from('\x04Password: ') : Buffer.concat([switchScramble, Buffer.from([0])]);
          send(seq + 1, Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${auth}\0`), data]));
          continue;
        }
        authPackets.push(payload.toString('hex'));
        if (auth !== 'caching_sha2_password') {
          passwords.push(payload.toString('utf8').replace(/\0$/, ''));
          refuse(seq + 1);
        } else if (step === 2) {
          // The client's hash: ask for the password itself ("perform full authentication").
          send(seq + 1, Buffer.from([0x01, 0x04]));
        } else if (step === 3 && payload.length === 1 && payload[0] === 0x02) {
          // The client asks for the server's public key: this fake's own.
          keySent = true;
          send(seq + 1, Buffer.concat([Buffer.from([0x01]), Buffer.from(publicPem)]));
        } else {
          // The password: RSA-encrypted with the fake's key (which it decrypts), or in clear text over TLS.
          const plain = keySent
            ? Buffer.from(privateDecrypt({ key: privateKey, oaepHash: 'sha1', padding: constants.RSA_PKCS1_OAEP_PADDING }, payload).map((b, i) => b ^ switchScramble[i % switchScramble.length]!))
            : payload;
          passwords.push(plain.toString('utf8').replace(/\0$/, ''));
          refuse(seq + 1);
        }
      }
    });
  };

  const listening = await listenOnLoopback(
    net.createServer((socket) => {
      converse(socket, false, randomBytes(20));
      socket.write(packet(0, handshake(randomBytes(20), options.tls !== undefined)));
    }),
  );
  return Object.assign(listening, { host: '127.0.0.1', passwords, authPackets, encrypted });
}
