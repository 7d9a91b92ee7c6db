# One container per shard. The mediasoup worker is built from the npm package's own
# sources against Debian libraries (scripts/mediasoup-worker.sh), so no download from
# outside the npm registry and Debian is needed.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN MEDIASOUP_WORKER_BIN=provided-by-setup npm ci --no-audit --no-fund
COPY scripts ./scripts
RUN VIDEO_WINDOW_CACHE=/tmp/cache bash scripts/mediasoup-worker.sh
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends libuv1 libssl3 libusrsctp2 \
     libabsl20220623 liburing2 ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
COPY package.json ./
# The embedded SQLite database (DATABASE_SQLITE_PATH); unused with DATABASE_URL.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME /app/data
USER node
# WebRTC media: one UDP and one TCP port per mediasoup worker, from RTC_MIN_PORT..RTC_MAX_PORT.
# TURN: 3478 UDP+TCP, 5349 TLS; its relay ports are ephemeral ones (use host networking).
EXPOSE 8080/tcp 40000-49999/udp 40000-49999/tcp 3478/udp 3478/tcp 5349/tcp
# Asks the port and address the shard's configuration names (PORT, HOST), not 8080.
HEALTHCHECK --interval=10s --timeout=5s CMD ["node", "dist/observability/health-probe.js"]
CMD ["node", "dist/main.js"]
