/**
 * The guard that keeps SQL Server's login packet (LOGIN7) from leaving outside
 * TLS looks only at the first write after the PRELOGIN exchange: later writes
 * are pieces of TLS records, cut anywhere, and may start with any byte.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { PlaintextLogin, refusePlaintextLogin } from '../../lib/connectors/mssql/login-guard.js';

let server: net.Server;
const received: Buffer[] = [];

before(async () => {
  server = net.createServer((s) => s.on('data', (d: Buffer) => received.push(d)).on('error', () => undefined));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
after(() => server.close());

async function guardedSocket(): Promise<net.Socket> {
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  return refusePlaintextLogin(socket);
}

test('a LOGIN7 packet written raw after PRELOGIN is refused and not sent', async () => {
  received.length = 0;
  const socket = await guardedSocket();
  assert.equal(socket.write(Buffer.from([0x12, 0x01, 0x00, 0x08])), true);
  const closed = new Promise((resolve) => socket.on('close', resolve));
  let error: unknown;
  socket.on('error', (e) => (error = e));
  assert.equal(socket.write(Buffer.from([0x10, 0x01, 0x00, 0x08, 0x00, 0x00, 0x01, 0x00])), false);
  await closed;
  assert.ok(error instanceof PlaintextLogin);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(!Buffer.concat(received).includes(0x10), 'nothing of the login reached the server');
});

test('after the first TLS record, a piece starting with 0x10 is ciphertext and goes out', async () => {
  received.length = 0;
  const socket = await guardedSocket();
  socket.write(Buffer.from([0x12, 0x01, 0x00, 0x08]));
  socket.write(Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]));
  const piece = Buffer.from([0x10, 0xaa, 0xbb, 0xcc]);
  assert.equal(socket.destroyed, false);
  socket.write(piece);
  socket.end();
  await once(socket, 'close');
  await new Promise((r) => setTimeout(r, 50));
  const all = Buffer.concat(received);
  assert.ok(all.includes(piece), 'the piece reached the server');
  assert.equal(socket.errored, null);
});
