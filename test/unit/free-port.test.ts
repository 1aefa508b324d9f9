/**
 * The port the demo, benchmarks and tests hand to a service: free, and outside
 * the kernel's ephemeral range, where an outgoing connection could take it
 * before the service binds it.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../scripts/support/free-port.js';

describe('freePort', () => {
  test('answers distinct free loopback ports below the ephemeral range', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) assert.ok(port >= 10000 && port < low, `${port} is below ${low}`);
    assert.ok(new Set(ports).size >= 18, 'drawn at random');
    // Each can be bound right away.
    for (const port of ports.slice(0, 5)) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
