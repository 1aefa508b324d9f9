/**
 * The port the demo, benchmarks and tests hand to a service: free, and outside
 * the kernel's ephemeral range, where an outgoing connection could take it
 * before the service binds it, and never one fetch refuses to connect to.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FETCH_BAD_PORTS, freePort } from '../../scripts/support/free-port.js';

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

  test('never a port fetch refuses ("bad port"), even when the draw lands on one', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    for (const bad of FETCH_BAD_PORTS) {
      // The list is right: fetch refuses the port before connecting.
      const refused = await fetch(`http://127.0.0.1:${bad}/`).then(() => null, (error: Error) => error);
      assert.match(String((refused?.cause as Error | undefined)?.message), /bad port/);
      const port = await freePort(() => (bad - 10000 + 0.5) / (low - 10000));
      assert.notEqual(port, bad);
      assert.ok(!FETCH_BAD_PORTS.has(port));
    }
  });
});
