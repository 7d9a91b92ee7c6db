# One container per shard, built with nothing but the npm registry and Debian's apt
# repositories (scripts/docker-image.sh builds it from a clean clone and smoke-tests it).
# Layers are ordered so the slow mediasoup worker build (7-20 minutes) reruns only when
# mediasoup's version or the worker patches change.

# mediasoup's exact version, alone: the worker stage copies this one line, so another
# change to package.json or package-lock.json leaves the worker's layers cached.
FROM node:20-bookworm-slim AS mediasoup-version
COPY package-lock.json /tmp/
RUN node -p "require('/tmp/package-lock.json').packages['node_modules/mediasoup'].version" \
  > /mediasoup-version

# The worker, built from the npm package's own sources against Debian libraries.
FROM node:20-bookworm AS worker
WORKDIR /worker
COPY scripts/mediasoup-worker.sh scripts/
COPY scripts/mediasoup-worker scripts/mediasoup-worker/
COPY --from=mediasoup-version /mediasoup-version ./
RUN mkdir -p node_modules/mediasoup \
  && npm pack "mediasoup@$(cat mediasoup-version)" \
  && tar -xzf mediasoup-*.tgz --strip-components=1 -C node_modules/mediasoup \
  && VIDEO_WINDOW_CACHE=/tmp/cache bash scripts/mediasoup-worker.sh \
  && cp node_modules/mediasoup/worker/out/Release/mediasoup-worker /mediasoup-worker

# npm dependencies and the build (TypeScript, the web client, and the TURN server's native
# UDP relay into dist/turn). mediasoup's install skips its worker (MEDIASOUP_WORKER_BIN);
# better-sqlite3 and the relay compile against the image's Node headers instead of
# downloading a prebuilt binary or the headers.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN MEDIASOUP_WORKER_BIN=provided-by-the-worker-stage npm_config_nodedir=/usr/local \
  npm_config_build_from_source=better-sqlite3 npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY scripts/build-web.mjs scripts/
COPY src ./src
RUN npm run build

# Production dependencies only, without build leftovers: mediasoup's worker sources and
# better-sqlite3's sources and objects (only its compiled addon is loaded).
FROM build AS production-modules
RUN npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/mediasoup/worker \
  && cd node_modules/better-sqlite3 \
  && mv build/Release/better_sqlite3.node . \
  && rm -rf build deps src \
  && mkdir -p build/Release \
  && mv better_sqlite3.node build/Release/

FROM node:20-bookworm-slim
# What the mediasoup worker links (ldd): libuv, OpenSSL, usrsctp, abseil (libsrtp is
# static inside it); ffmpeg records rooms.
RUN apt-get update \
  && apt-get install -y --no-install-recommends libuv1 libssl3 libusrsctp2 libabsl20220623 \
    ffmpeg \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=production-modules /app/node_modules ./node_modules
COPY --from=worker /mediasoup-worker ./node_modules/mediasoup/worker/out/Release/
COPY package.json ./
COPY config ./config
COPY --from=build /app/dist ./dist
# The embedded SQLite database (DATABASE_SQLITE_PATH); unused with DATABASE_URL. A folder
# mounted here must be writable for uid 1000 (node).
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME /app/data
USER node
# WebRTC media: one UDP and one TCP port per mediasoup worker, from RTC_MIN_PORT..RTC_MAX_PORT.
# TURN: 3478 UDP+TCP, 5349 TLS; its relay ports are ephemeral ones (use host networking).
EXPOSE 8080/tcp 40000-49999/udp 40000-49999/tcp 3478/udp 3478/tcp 5349/tcp
# Asks the port and address the shard's configuration names (PORT, HOST), not 8080.
HEALTHCHECK --interval=10s --timeout=5s CMD ["node", "dist/observability/health-probe.js"]
CMD ["node", "dist/main.js"]
