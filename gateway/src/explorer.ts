import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { API_KEY_HEADER } from '../../lib/auth/api-key.js';
import { SUPERGRAPH_PATH } from '../../lib/graphql/compose.js';

/** Where a person explores the graph: the GraphiQL page, its assets, and the supergraph SDL. */
export const EXPLORER_PATH = '/explorer';
export const SUPERGRAPH_SDL_PATH = '/supergraph.graphql';
const ASSETS = `${EXPLORER_PATH}/assets`;

/**
 * The page's own policy: scripts, styles and connections only from this
 * service (so the key typed into the page can reach nothing but this
 * service's /graphql), fonts and icons also inline (`data:`, GraphiQL's CSS
 * embeds its fonts), nothing framed, no forms, no <base>.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every explorer response: the page is not framed, sniffed, or told where it was opened from. */
const PAGE_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * What the editor shows before the user writes anything: how to give the key,
 * and a query to run at once: how far a job has got (the job surface of issue
 * #17), table by table while it runs.
 */
export const DEFAULT_QUERY = `# CR8TOR Publisher: the federated graph.
#
# Every operation needs your API key. Set it in
# the Headers tab below: {"${API_KEY_HEADER}": "<key>"}.
# It stays in this tab, unsaved, and is sent only
# to this service's /graphql.
#
# The docs (top left) then list every type and
# field, and the editor completes them.
#
# How far a package has got, table by table: put
# the job's id (what startPackage answered, or one
# of jobs(projectName:, projectStartTime:)) in the
# Variables tab, {"id": "<job id>"}, and run this
# again while it runs.
query Job($id: ID!) {
  job(id: $id) {
    kind
    projectName
    projectStartTime
    state
    progress {
      table
      state
      rows
      bytes
      estimatedRows
    }
    error {
      code
      detail
    }
  }
}
`;

/**
 * The script that starts GraphiQL: a file of its own, not inline, so the
 * page's policy can refuse every inline script. GraphiQL keeps its tabs and
 * history in the browser's storage, and the history with the headers each
 * operation ran with, whatever `shouldPersistHeaders` says; so it is given a
 * storage that keeps every value without its headers: the key is never stored.
 */
const START_SCRIPT = `'use strict';
(() => {
  const withoutHeaders = (value) => {
    if (Array.isArray(value)) return value.map(withoutHeaders);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([name, v]) => [name, name === 'headers' ? null : withoutHeaders(v)]));
  };
  const storage = {
    getItem: (key) => window.localStorage.getItem(key),
    setItem: (key, value) => {
      if (/:headers$/.test(key)) return;
      let kept = value;
      try {
        kept = JSON.stringify(withoutHeaders(JSON.parse(value)));
      } catch {
        // not JSON (the query text): kept as it is
      }
      window.localStorage.setItem(key, kept);
    },
    removeItem: (key) => window.localStorage.removeItem(key),
    clear: () => window.localStorage.clear(),
    key: (index) => window.localStorage.key(index),
    get length() {
      return window.localStorage.length;
    },
  };
  const url = new URL('/graphql', window.location.href).href;
  const keyIn = (headers) => {
    try {
      return String(JSON.parse(headers)[${JSON.stringify(API_KEY_HEADER)}] ?? '');
    } catch {
      return '';
    }
  };
  // A new fetcher when the key in the Headers tab changes (settled for half a second):
  // GraphiQL then fetches the schema again, with the key, for its docs and completion.
  const Explorer = () => {
    const [key, setKey] = React.useState('');
    const timer = React.useRef(undefined);
    const fetcher = React.useMemo(() => GraphiQL.createFetcher({ url }), [key]);
    const onEditHeaders = (headers) => {
      clearTimeout(timer.current);
      timer.current = setTimeout(() => setKey(keyIn(headers)), 500);
    };
    return React.createElement(GraphiQL, {
      fetcher,
      storage,
      onEditHeaders,
      defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
      defaultHeaders: ${JSON.stringify(`{\n  "${API_KEY_HEADER}": ""\n}`)},
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    });
  };
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(Explorer));
})();
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CR8TOR Publisher — GraphQL explorer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS}/graphiql.css">
<link rel="stylesheet" href="${ASSETS}/explorer.css">
</head>
<body>
<div id="graphiql">Loading the GraphQL explorer…</div>
<script src="${ASSETS}/react.js"></script>
<script src="${ASSETS}/react-dom.js"></script>
<script src="${ASSETS}/graphiql.js"></script>
<script src="${ASSETS}/explorer.js"></script>
</body>
</html>
`;

const PAGE_CSS = 'html, body, #graphiql { height: 100%; margin: 0; }\n';

interface Asset {
  body: Buffer;
  type: string;
}

/** A file of an installed package, found through the package's own package.json (GraphiQL's exports do not list its browser build). */
function packageFile(require: NodeJS.Require, pkg: string, file: string): Buffer {
  return readFileSync(path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file));
}

let loaded: Map<string, Asset> | undefined;

/**
 * The assets, read from node_modules once per process (about 1.3 MB, kept
 * off the heap): React's and GraphiQL's browser builds as their packages ship
 * them (nothing is built or fetched), and the page's own script and style. The
 * source-map comments are dropped: the maps are not served.
 */
function assets(): Map<string, Asset> {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const JS = 'text/javascript; charset=utf-8';
  const CSS = 'text/css; charset=utf-8';
  const script = (pkg: string, file: string): Asset => ({
    body: Buffer.from(packageFile(require, pkg, file).toString('utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n')),
    type: JS,
  });
  loaded = new Map<string, Asset>([
    ['react.js', script('react', 'umd/react.production.min.js')],
    ['react-dom.js', script('react-dom', 'umd/react-dom.production.min.js')],
    ['graphiql.js', script('graphiql', 'graphiql.min.js')],
    ['graphiql.css', { body: packageFile(require, 'graphiql', 'graphiql.min.css'), type: CSS }],
    ['explorer.js', { body: Buffer.from(START_SCRIPT), type: JS }],
    ['explorer.css', { body: Buffer.from(PAGE_CSS), type: CSS }],
  ]);
  return loaded;
}

/**
 * `GET /explorer`: GraphiQL, served with everything it loads from this
 * service (never a CDN), and `GET /supergraph.graphql`, the schema it
 * explores. Both open, like /docs: what they show needs no key, every
 * operation run from the page does.
 */
export const explorer = fp(
  async (app: FastifyInstance) => {
    app.get(EXPLORER_PATH, { config: { open: true } }, async (_request, reply) => reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(PAGE));
    for (const [name, asset] of assets()) {
      app.get(`${ASSETS}/${name}`, { config: { open: true } }, async (_request, reply) =>
        reply.headers(PAGE_HEADERS).header('cache-control', 'public, max-age=3600').type(asset.type).send(asset.body),
      );
    }
    const sdl = readFileSync(SUPERGRAPH_PATH, 'utf8');
    app.get(SUPERGRAPH_SDL_PATH, { config: { open: true } }, async (_request, reply) => reply.header('x-content-type-options', 'nosniff').type('text/plain; charset=utf-8').send(sdl));
  },
  { name: 'cr8tor-explorer' },
);
