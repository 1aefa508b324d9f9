# One image for the three CR8TOR Publisher services. The container runs `node`
# and each Kubernetes Deployment passes the entry point of its service:
#
#   approval (gateway)  dist/gateway/src/main.js            (the default)
#   metadata            dist/subgraphs/metadata/src/main.js
#   publish             dist/subgraphs/publish/src/main.js
#
#   docker build -t cr8tor-publisher:dev .
#   docker run --rm -p 8003:8003 --user "$(id -u):$(id -g)" -v "$PWD/secrets:/mnt/secrets:ro" cr8tor-publisher:dev dist/subgraphs/publish/src/main.js
#
# (--user: the key files `npm run keys` writes are readable by their owner only.)
# All three together: docs/deployment.md, "Run the three containers locally".
#
# No `# syntax=` line: the builder's own Dockerfile frontend is enough, so an
# air-gapped build never pulls one from Docker Hub.
#
# Node.js 26 is the Active LTS line from 2026-10-28 (Node.js 24 moved to
# Maintenance on 2026-10-20); trixie is Debian's current stable release.
# Build with another base, e.g. the Maintenance LTS, through
#   --build-arg NODE_IMAGE=node:24-trixie-slim
ARG NODE_IMAGE=node:26-trixie-slim

# ---- build: compile TypeScript to dist/ with the full (dev) dependency set ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
COPY gateway/src ./gateway/src
COPY subgraphs ./subgraphs
RUN npm run build

# ---- deps: production dependencies only ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts run: nothing the services load needs one. The demo's
# embedded PostgreSQL and tsx are development dependencies, so not here.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
# A fixed non-root uid/gid (the Deployments' runAsUser/runAsGroup), and no npm:
# the services never run it, and it is the largest unused surface in the base.
RUN groupadd --system --gid 10001 cr8tor \
 && useradd --system --uid 10001 --gid cr8tor --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin cr8tor \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
# Temporary files go to /tmp, which Kubernetes mounts as an emptyDir so the root
# filesystem can stay read-only. Secrets are files in /mnt/secrets (the Key
# Vault CSI mount). Stack traces point at the TypeScript sources.
ENV TMPDIR=/tmp \
    DLTHUB_PIPELINE_WORKING_DIR=/tmp \
    SECRETS_MNT_PATH=/mnt/secrets \
    NODE_OPTIONS=--enable-source-maps
# Everything the process reads is owned by root and read-only to it.
# lib/paths.ts finds the project root by package.json, and the services read
# schema/*.graphql from there, so both sit beside dist/.
COPY package.json ./
COPY schema ./schema
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/lib ./dist/lib
# The platform database's migrations are SQL the services read at start-up (tsc copies only .js).
COPY lib/store/migrations ./dist/lib/store/migrations
COPY --from=build /src/dist/gateway ./dist/gateway
COPY --from=build /src/dist/subgraphs ./dist/subgraphs
USER 10001:10001
EXPOSE 8000 8002 8003
ENTRYPOINT ["node"]
CMD ["dist/gateway/src/main.js"]
