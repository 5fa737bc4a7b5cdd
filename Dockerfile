# syntax=docker/dockerfile:1
# coinpipe: build with the whole toolchain, run on a slim image with production dependencies only.
#   docker build -t coinpipe .
#   docker run -p 8080:8080 -v coinpipe-data:/app/data coinpipe       (SQLite in the volume)
#   docker run -p 8080:8080 -e DATABASE_URL=postgres://… coinpipe
#   docker run -e DATABASE_URL=postgres://… -e REDIS_URL=redis://… coinpipe node dist/bin/coinpipe.js worker
#     (a worker; add --health-cmd 'node dist/cli/healthcheck.js worker', the image's check is the API's)
# docker-compose.yml runs it beside PostgreSQL and Redis, as API replicas and workers: `make up`.

FROM node:20-bookworm-slim AS build
# better-sqlite3 downloads a prebuilt binary when one matches, and compiles itself with these otherwise.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` would build before the sources are here. The one
# dependency whose install script matters, better-sqlite3's native build, is run on its own.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY dashboard ./dashboard
COPY scripts/bundle-cli.ts scripts/build-dashboard.ts ./scripts/
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
# package.json makes dist/ ESM ("type": "module"); node_modules holds production dependencies only.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The bundled sample CSV and the default SQLite file's folder, writable by the app user: 1000:1000 is
# the node image's unprivileged `node` user, by number so that a runAsNonRoot policy can verify it.
COPY --chown=1000:1000 data ./data
USER 1000:1000
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
# The check of `serve`; a worker container replaces it with `node dist/cli/healthcheck.js worker`,
# which reads the worker's heartbeat in Redis (a worker listens on no port).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "dist/cli/healthcheck.js"]
# Exec form, no shell in between: SIGTERM reaches node, and `serve` drains and lets the batch in flight commit.
CMD ["node", "dist/bin/coinpipe.js", "serve"]
