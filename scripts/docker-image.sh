#!/usr/bin/env bash
# Builds the shard's Docker image from a clean clone of the committed HEAD and smoke-tests
# it, on a machine where only the npm registry and Debian's apt repositories answer.
# Opt-in (not part of npm test); run as root:
#
#   scripts/docker-image.sh [--pull] [--save FILE]
#
# It installs docker.io and debootstrap if missing, starts a private dockerd (no
# iptables, no bridge: containers use host networking) whose data lives in the cache and
# whose socket and exec root live in a temporary directory, and stops it at the end.
# The node:20-bookworm(-slim) base images are pulled with --pull; otherwise, when the
# daemon does not have them yet, stand-ins are made: Debian bookworm by debootstrap plus
# this host's Node 20 (binary, npm, headers) and a node user (uid 1000). The daemon's data
# root keeps them, the build cache and the image for the next run.
#
# Smoke test: the image runs with host networking on a free, non-default PORT with a
# bind-mounted data folder; /health/ready and the container's own HEALTHCHECK must say
# ready and healthy; a guest without a token is refused and two participants with
# minted tokens join a room over socket.io; production mode without JWT_SECRET must be
# refused, and so must a data folder uid 1000 cannot write.
#
# Options:
#   --pull       pull the base images from the registry instead of making stand-ins
#   --save FILE  write the image to FILE (docker save) for another daemon (docker load)
# Environment:
#   VIDEO_WINDOW_CACHE  cache root (default: $HOME/.cache/video-window); the daemon's data
#                       root is its docker/ folder
#   IMAGE               the image's tag (default: video-window:local)
set -euo pipefail

readonly TAG='[docker-image]'
readonly STARTED=$SECONDS
log() { printf '%s +%ss %s\n' "$TAG" "$((SECONDS - STARTED))" "$*"; }
die() {
  printf '%s ERROR: %s\n' "$TAG" "$*" >&2
  exit 1
}

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly PROJECT_DIR
readonly CACHE="${VIDEO_WINDOW_CACHE:-$HOME/.cache/video-window}"
readonly IMAGE="${IMAGE:-video-window:local}"
readonly BUILD_IMAGE="$IMAGE-build" # the build stage, with socket.io-client for the smoke test
readonly BASES=(node:20-bookworm-slim node:20-bookworm)

pull=0
save=''
while [ $# -gt 0 ]; do
  case "$1" in
    --pull) pull=1 ;;
    --save)
      save="$(realpath -m "${2:?--save needs a file}")"
      shift
      ;;
    *) die "unknown argument: $1 (usage: scripts/docker-image.sh [--pull] [--save FILE])" ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || die "run as root (dockerd and debootstrap need it)"

bash "$PROJECT_DIR/scripts/apt-install.sh" docker.io debootstrap

# --- A private dockerd -------------------------------------------------------------

readonly DATA_ROOT="$CACHE/docker"
mkdir -p "$DATA_ROOT"
exec 9>"$CACHE/docker.lock"
flock -n 9 || die "another docker-image.sh uses $DATA_ROOT"

WORK="$(mktemp -d /tmp/video-window-docker.XXXXXX)" # short: it holds unix sockets
readonly WORK SOCKET="$WORK/docker.sock"
containers=()
dockerd_pid=''

cleanup() {
  set +e
  for container in "${containers[@]}"; do docker rm -f "$container" >/dev/null 2>&1; done
  if [ -n "$dockerd_pid" ]; then
    log "stopping dockerd"
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
  fi
  # dockerd leaves its bind mount of the host's network namespace behind.
  awk -v work="$WORK/" 'index($2, work) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every docker command below talks to it, with the classic builder (Debian's docker.io
# has no buildx).
export DOCKER_HOST="unix://$SOCKET" DOCKER_BUILDKIT=0

log "starting dockerd (data root $DATA_ROOT)"
dockerd --data-root "$DATA_ROOT" --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" \
  -H "unix://$SOCKET" --iptables=false --ip6tables=false --bridge=none --ip-masq=false \
  --storage-driver=overlay2 >"$WORK/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 120); do
  docker version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { cat "$WORK/dockerd.log" >&2; die "dockerd exited"; }
  sleep 0.5
done
docker version >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log" >&2; die "dockerd did not answer in 60 s"; }
log "dockerd $(docker version --format '{{.Server.Version}}') ready"

# --- Base images -------------------------------------------------------------------

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The first URI of this host's apt sources (deb822 or one-line) that matches $1, else $2.
apt_mirror() {
  local uri
  uri="$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    sed -n -e 's|^URIs: *\(http[^ ]*\).*|\1|p' -e 's|^deb \+\(http[^ ]*\) .*|\1|p' |
    grep -E -m1 "$1" || true)"
  echo "${uri:-$2}"
}

make_stand_ins() {
  local dir="$WORK/stand-in" mirror security node_prefix
  mirror="$(apt_mirror '/debian/?$' http://deb.debian.org/debian)"
  security="$(apt_mirror '/debian-security/?$' http://deb.debian.org/debian-security)"
  log "making stand-ins for ${BASES[*]}: debootstrap bookworm from $mirror (about a minute)"
  mkdir -p "$dir/context"
  debootstrap --variant=minbase bookworm "$dir/rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 \
    || { tail -20 "$dir/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -f "$dir/rootfs/etc/apt/sources.list"
  cat >"$dir/rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # As in Debian's official slim images: apt keeps no packages or caches, dpkg installs
  # no documentation, manuals or translations.
  cat >"$dir/rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/locale/*' \
    'path-exclude /usr/share/info/*' >"$dir/rootfs/etc/dpkg/dpkg.cfg.d/docker"
  find "$dir/rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  rm -rf "$dir/rootfs/usr/share/man/"* "$dir/rootfs/usr/share/locale/"* "$dir/rootfs/usr/share/info/"*
  rm -rf "$dir/rootfs/var/cache/apt/"*.bin "$dir/rootfs/var/cache/apt/archives/"*.deb \
    "$dir/rootfs/var/lib/apt/lists/"*
  tar -C "$dir/rootfs" -c . | docker import - video-window/bookworm:stand-in >/dev/null
  rm -rf "$dir/rootfs"

  # Node where the official images have it (/usr/local), so npm_config_nodedir=/usr/local
  # holds for both.
  node_prefix="$(dirname "$(dirname "$(node -p process.execPath)")")"
  [ -f "$node_prefix/include/node/node.h" ] || die "no Node headers in $node_prefix/include/node"
  [[ "$(node -v)" == v20.* ]] || die "the stand-ins need this host's Node to be 20, not $(node -v)"
  log "adding this host's Node $(node -v) and npm $(npm -v)"
  cp "$(node -p process.execPath)" "$dir/context/node"
  cp -r "$(npm root -g)/npm" "$dir/context/npm"
  cp -r "$node_prefix/include/node" "$dir/context/include"
  # npm in the stand-ins trusts what this host's npm trusts (behind a TLS-intercepting
  # proxy, its CA): /usr/local/etc/npmrc is npm's global configuration there.
  mkdir "$dir/context/etc"
  touch "$dir/context/etc/npmrc"
  ca_file="$(npm config get cafile)"
  [ -f "$ca_file" ] || ca_file="${NODE_EXTRA_CA_CERTS:-}"
  if [ -f "$ca_file" ]; then
    log "npm in the stand-ins trusts $ca_file, as here"
    cp "$ca_file" "$dir/context/etc/build-host-ca.pem"
    echo "cafile=/usr/local/etc/build-host-ca.pem" >"$dir/context/etc/npmrc"
  fi
  cat >"$dir/context/Dockerfile" <<'EOF'
FROM video-window/bookworm:stand-in
LABEL org.video-window.stand-in="debootstrap bookworm + the build host's Node 20"
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY include /usr/local/include/node
COPY etc /usr/local/etc
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
CMD ["node"]
EOF
  docker build --quiet -t node:20-bookworm-slim "$dir/context" >/dev/null
  # The part of the full image (buildpack-deps) that builds use: compilers, make, python3.
  log "node:20-bookworm: adding g++, make and python3 with apt"
  printf '%s\n' 'FROM node:20-bookworm-slim' \
    'RUN apt-get update && apt-get install -y --no-install-recommends g++ make python3 \' \
    '  && rm -rf /var/lib/apt/lists/*' |
    docker build --quiet --network host -t node:20-bookworm - >/dev/null
  rm -rf "$dir"
}

missing_bases=()
for base in "${BASES[@]}"; do have_image "$base" || missing_bases+=("$base"); done
if [ ${#missing_bases[@]} -eq 0 ]; then
  log "base images present: ${BASES[*]}"
elif [ "$pull" -eq 1 ]; then
  for base in "${missing_bases[@]}"; do
    log "pulling $base"
    docker pull -q "$base" >/dev/null
  done
else
  make_stand_ins
fi

# --- The image, from a clean clone ---------------------------------------------------

commit="$(git -C "$PROJECT_DIR" rev-parse HEAD)"
[ -z "$(git -C "$PROJECT_DIR" status --porcelain)" ] \
  || log "warning: uncommitted changes in $PROJECT_DIR are not in the image"
log "cloning $commit"
git clone --quiet --no-checkout "$PROJECT_DIR" "$WORK/src"
git -C "$WORK/src" checkout --quiet --detach "$commit"

log "building $IMAGE (the mediasoup worker stage takes 7-20 minutes when not cached)"
build_started=$SECONDS
docker build --network host -t "$IMAGE" "$WORK/src" 2>&1 | sed -u "s/^/$TAG   /" \
  || die "docker build failed"
build_seconds=$((SECONDS - build_started))
docker build --quiet --network host --target build -t "$BUILD_IMAGE" "$WORK/src" >/dev/null
image_size="$(docker image inspect --format '{{.Size}}' "$IMAGE")"
log "built $IMAGE in ${build_seconds} s: $((image_size / 1000000)) MB"

# --- Smoke test ------------------------------------------------------------------------

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
http_status() {
  node -e "fetch(process.argv[1]).then(r=>console.log(r.status),()=>console.log(0))" "$1"
}

log "image contents: the worker's libraries, no build leftovers"
docker run --rm --entrypoint sh "$IMAGE" -c '
  set -e
  worker=node_modules/mediasoup/worker
  ! ldd $worker/out/Release/mediasoup-worker | grep "not found"
  [ "$(ls -A $worker)" = out ] && [ "$(ls -A $worker/out/Release)" = mediasoup-worker ]
  [ "$(ls -A node_modules/better-sqlite3/build/Release)" = better_sqlite3.node ]
  [ ! -e node_modules/better-sqlite3/deps ] && [ ! -e node_modules/better-sqlite3/src ]
  echo "node_modules $(du -sh node_modules | cut -f1)"' | sed "s/^/$TAG   /" \
  || die "the image holds build leftovers or the worker misses a library"

port="$(free_port)"
turn_port="$(free_port)"
secret="$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
shard_env=(-e "PORT=$port" -e HOST=127.0.0.1 -e "JWT_SECRET=$secret" -e MEDIASOUP_NUM_WORKERS=1
  -e MEDIA_LISTEN_IP=127.0.0.1 -e MEDIA_ANNOUNCED_ADDRESS=127.0.0.1
  -e TURN_LISTEN_IP=127.0.0.1 -e TURN_RELAY_IP=127.0.0.1 -e "TURN_PORT=$turn_port")

log "production mode without JWT_SECRET is refused"
rc=0
output="$(timeout 60 docker run --rm --network host -e "PORT=$port" "$IMAGE" 2>&1)" || rc=$?
[ "$rc" -eq 78 ] && [[ "$output" == *JWT_SECRET* ]] \
  || die "expected exit 78 naming JWT_SECRET, got $rc: $output"
log "  refused (exit 78): $output"

log "a data folder uid 1000 cannot write stops the start at once"
mkdir -m 755 "$WORK/data-root-owned"
rc=0
output="$(timeout 20 docker run --rm --network host "${shard_env[@]}" \
  -v "$WORK/data-root-owned:/app/data" "$IMAGE" 2>&1)" || rc=$?
[ "$rc" -eq 1 ] && [[ "$output" == *"/app/data/video-window.sqlite as uid 1000"* ]] \
  || die "expected exit 1 naming the path and uid 1000, got $rc: $output"
log "  refused (exit 1): $(grep -o 'cannot use the SQLite database[^"]*' <<<"$output")"

log "running $IMAGE on port $port (TURN $turn_port), data in $WORK/data"
mkdir "$WORK/data"
chown 1000:1000 "$WORK/data"
container="video-window-smoke-$$"
containers+=("$container")
docker run -d --name "$container" --network host "${shard_env[@]}" \
  -v "$WORK/data:/app/data" "$IMAGE" >/dev/null
ready=0
for _ in $(seq 1 120); do
  [ "$(http_status "http://127.0.0.1:$port/health/ready")" = 200 ] && { ready=1; break; }
  [ "$(docker inspect --format '{{.State.Running}}' "$container")" = true ] || break
  sleep 0.5
done
[ "$ready" -eq 1 ] || { docker logs "$container" 2>&1 | tail -20 >&2; die "/health/ready never answered 200"; }
log "  /health/ready: 200"
health=''
for _ in $(seq 1 60); do
  health="$(docker inspect --format '{{.State.Health.Status}}' "$container")"
  [ "$health" = healthy ] && break
  sleep 1
done
[ "$health" = healthy ] || die "HEALTHCHECK says $health"
log "  HEALTHCHECK: healthy ($(docker inspect --format '{{(index .State.Health.Log 0).Output}}' "$container" | tr -d '\n'))"

mint() { docker exec "$container" node dist/cli/mint-token.js --room smoke --name "$1" 2>/dev/null; }
log "socket.io: a guest is refused, Alice and Bob join room smoke with minted tokens"
docker run --rm -i --network host "$BUILD_IMAGE" node - "http://127.0.0.1:$port" \
  "$(mint Alice)" "$(mint Bob)" "$turn_port" <<'EOF' | sed "s/^/$TAG   /" \
  || die "the socket.io smoke test failed"
const { io } = require('socket.io-client');
const [url, aliceToken, bobToken, turnPort] = process.argv.slice(2);
const connect = (token) =>
  new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], auth: token ? { token } : {}, reconnection: false });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(Object.assign(new Error(error.message), { code: error.data?.code }));
    });
  });
const join = async (socket) => {
  const ack = await socket.timeout(10000).emitWithAck('request', { method: 'join', data: { room: 'smoke' } });
  if (ack.error) throw new Error(`join: ${ack.error.code}: ${ack.error.message}`);
  return ack.data;
};
const check = (ok, what) => {
  if (!ok) throw new Error(what);
  console.log(`ok: ${what}`);
};
(async () => {
  const guest = await connect().then((s) => (s.close(), 'connected'), (error) => error.code);
  check(guest === 'unauthorized', `a guest without a token is refused (${guest})`);
  const alice = await connect(aliceToken);
  const aliceJoin = await join(alice);
  check(aliceJoin.displayName === 'Alice' && aliceJoin.participants.length === 0, 'Alice joins an empty room');
  const turn = aliceJoin.iceServers.flatMap((server) => [server.urls].flat());
  check(turn.includes(`turn:127.0.0.1:${turnPort}?transport=udp`), `embedded TURN offered: ${turn.join(' ')}`);
  const announced = new Promise((resolve) => alice.once('participantsJoined', resolve));
  const bob = await connect(bobToken);
  const bobJoin = await join(bob);
  check(bobJoin.participants.map((p) => p.displayName).join() === 'Alice', 'Bob joins and sees Alice');
  const joined = await Promise.race([announced, new Promise((r) => setTimeout(r, 5000, []))]);
  check(joined.some((p) => p.id === bobJoin.participantId), 'Alice is told Bob joined');
  alice.close();
  bob.close();
})().catch((error) => {
  console.error(`FAILED: ${error.message}`);
  process.exit(1);
});
EOF
[ -s "$WORK/data/video-window.sqlite" ] || die "no database in the bind-mounted data folder"
log "  the database is in the bind-mounted folder: $(stat -c '%n, uid %u, %s bytes' "$WORK/data/video-window.sqlite")"

stop_started=$SECONDS
docker stop "$container" >/dev/null
log "docker stop: exit code $(docker inspect --format '{{.State.ExitCode}}' "$container") after $((SECONDS - stop_started)) s"

if [ -n "$save" ]; then
  docker save "$IMAGE" -o "$save"
  log "saved $IMAGE to $save (docker load -i $save)"
fi
log "done: $IMAGE built in ${build_seconds} s, $((image_size / 1000000)) MB, smoke test passed"
