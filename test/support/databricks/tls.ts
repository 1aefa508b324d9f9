/** The throwaway TLS identity the Databricks doubles (workspace and cloud storage) serve with. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DoubleTls {
  ca: string;
  cert: string;
  key: string;
}

let tlsOnce: Promise<DoubleTls> | undefined;

/** A CA and a certificate for 127.0.0.1, localhost and this host's name, made once per process with `openssl`. */
export function doubleTls(): Promise<DoubleTls> {
  tlsOnce ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-dbx-tls-'));
    const f = (name: string) => path.join(dir, name);
    try {
      const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
      await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=CR8TOR Databricks double CA (throwaway)',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
      await run('openssl', ['req', '-new', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
      const names = ['IP:127.0.0.1', 'DNS:localhost', ...(/^[A-Za-z0-9.-]+$/.test(os.hostname()) ? [`DNS:${os.hostname()}`] : [])];
      await writeFile(f('server.ext'), `subjectAltName=${names.join(',')}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
      await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', `0x${randomBytes(8).toString('hex')}`,
        '-days', '2', '-sha256', '-extfile', f('server.ext'), '-out', f('server.pem')]);
      const [ca, cert, key] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((n) => readFile(f(n), 'utf8')));
      return { ca: ca!, cert: cert!, key: key! };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return tlsOnce;
}
