import type { Server } from 'node:http';

/**
 * Stops a test double's HTTP(S) server: drops its open (keep-alive)
 * connections, so a client's idle socket cannot hold the close up, and
 * resolves once the server has closed; a close error rejects.
 */
export function stopHttpServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
