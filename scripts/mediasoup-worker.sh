#!/usr/bin/env bash
# Build mediasoup's C++ worker (mediasoup-worker) against Debian 12 system
# libraries, without network access except the npm registry and apt.
#
# mediasoup's own install step downloads a prebuilt worker from GitHub or
# builds it with meson wrap subprojects that download their sources; neither
# works offline. This script builds the worker from the npm tarball's sources
# with the patches in scripts/mediasoup-worker/*.patch (applied with
# `patch -p1` inside the `worker/` directory), caches the binary outside the
# checkout and installs it where mediasoup looks for it by default:
#   node_modules/mediasoup/worker/out/Release/mediasoup-worker
#
# Install mediasoup itself with MEDIASOUP_WORKER_BIN set to something non-empty
# (e.g. `MEDIASOUP_WORKER_BIN=skip npm ci`) so its postinstall skips the
# download/build, then run this script.
#
# The patches: 0001 system libraries through pkg-config instead of meson
# subprojects, 0002 the libsrtp 2 API, 0003 a DTLS BIO callback fix for
# OpenSSL 3.0, 0004 success (not 487) for the checks of a peer that stays
# ICE-controlled because it ignores a=ice-lite (lib-jitsi-meet: Jitsi Meet
# clients could not connect at all). Idempotent: a cached, runnable binary
# is reused (cache key: mediasoup version + sha256 of the patches).
#
# Environment:
#   VIDEO_WINDOW_CACHE  cache root (default: $HOME/.cache/video-window)
set -euo pipefail

readonly TAG='[mediasoup-worker]'
log() { printf '%s %s\n' "$TAG" "$*"; }
die() { printf '%s ERROR: %s\n' "$TAG" "$*" >&2; exit 1; }
trap 'rc=$?; printf "%s ERROR: failed (exit %s) at line %s: %s\n" "$TAG" "$rc" "$LINENO" "$BASH_COMMAND" >&2; exit "$rc"' ERR

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
readonly SCRIPT_DIR PROJECT_DIR
readonly PATCH_DIR="$SCRIPT_DIR/mediasoup-worker"
readonly MS_MODULE_DIR="$PROJECT_DIR/node_modules/mediasoup"
readonly DEFAULT_VERSION='3.19.3'

# Debian packages needed to build (the binary links dynamically against the
# runtime libraries they pull in: libuv1, libssl3, libusrsctp2, libabsl20220623).
# liburing is not used: Debian 12's liburing 2.3 is too old for mediasoup, so
# the build uses -Dms_disable_liburing=true. libsrtp is built here (below).
readonly APT_PACKAGES=(
	g++ pkg-config meson ninja-build patch make
	libuv1-dev libssl-dev libusrsctp-dev libabsl-dev
	libflatbuffers-dev flatbuffers-compiler
)

# libsrtp 2 comes from Debian's source package, built as a static library on
# OpenSSL: Debian's binary libsrtp2-1 does its AES and HMAC through NSS, which
# took about 40% of the worker's CPU per forwarded packet (perf), where OpenSSL
# takes a few percent. Part of the cache key, with the patches.
readonly LIBSRTP_BUILD='libsrtp2 Debian source, static, --enable-openssl'

# Prints nothing and succeeds if "$1" is a runnable mediasoup-worker: it must
# load all its shared libraries and reach main(), which, when not started by
# mediasoup's Node library (no MEDIASOUP_VERSION in the environment), prints
# "you don't seem to be my real father!" and exits with code 41.
worker_runs() {
	local bin="$1" out rc=0
	[[ -f "$bin" && -x "$bin" ]] || return 1
	out="$(env -u MEDIASOUP_VERSION timeout 10 "$bin" </dev/null 2>&1)" || rc=$?
	[[ "$rc" -eq 41 && "$out" == *"real father"* ]]
}

# --- Version and cache location ------------------------------------------------

version=''
if [[ -f "$MS_MODULE_DIR/package.json" ]]; then
	version="$(sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' \
		"$MS_MODULE_DIR/package.json" | head -n1)"
	[[ -n "$version" ]] || die "cannot read version from $MS_MODULE_DIR/package.json"
	log "mediasoup $version found in node_modules"
else
	version="$DEFAULT_VERSION"
	log "node_modules/mediasoup not installed; using default mediasoup $version"
fi

shopt -s nullglob
patches=("$PATCH_DIR"/*.patch)
shopt -u nullglob
[[ ${#patches[@]} -gt 0 ]] || die "no patches found in $PATCH_DIR"
patch_hash="$({ cat "${patches[@]}"; echo "$LIBSRTP_BUILD"; } | sha256sum | cut -c1-12)"

cache_dir="${VIDEO_WINDOW_CACHE:-$HOME/.cache/video-window}/mediasoup-worker/${version}-${patch_hash}"
cached_bin="$cache_dir/mediasoup-worker"
mkdir -p "$cache_dir"

# Serialise concurrent runs for the same cache entry (the second one then
# finds the binary built by the first).
exec 9>"$cache_dir/.lock"
flock 9

# --- Build (only if the cache has no runnable binary) ---------------------------

if worker_runs "$cached_bin"; then
	log "cache hit: $cached_bin"
else
	if [[ -e "$cached_bin" ]]; then
		log "cached binary is not runnable; rebuilding"
	fi
	log "cache miss: building mediasoup-worker $version (about 7-8 minutes on 2 cores)"

	# 1. Debian packages.
	missing=()
	for pkg in "${APT_PACKAGES[@]}"; do
		dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		log "installing missing apt packages: ${missing[*]}"
		sudo=()
		if [[ "$(id -u)" -ne 0 ]]; then
			command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
			sudo=(sudo)
		fi
		apt_opts=(-o DPkg::Lock::Timeout=600)
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update \
			|| die "apt-get update failed"
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y \
			--no-install-recommends "${missing[@]}" || die "apt-get install failed: ${missing[*]}"
	else
		log "apt packages already installed"
	fi

	# 2. Sources, copied into a temp dir outside the checkout.
	work_dir="$(mktemp -d "${TMPDIR:-/tmp}/mediasoup-worker-build.XXXXXX")"
	cleanup() {
		if [[ "${build_ok:-0}" == 1 ]]; then
			rm -rf "$work_dir"
		else
			printf '%s build directory kept for inspection: %s\n' "$TAG" "$work_dir" >&2
		fi
	}
	trap cleanup EXIT

	src_dir="$work_dir/worker"
	# (node_modules/mediasoup, when present, is the version being built.)
	if [[ -f "$MS_MODULE_DIR/worker/meson.build" && -f "$MS_MODULE_DIR/worker/src/main.cpp" ]]; then
		log "copying worker sources from $MS_MODULE_DIR/worker"
		mkdir -p "$src_dir"
		tar -C "$MS_MODULE_DIR/worker" --exclude=./out -cf - . | tar -C "$src_dir" -xf -
	else
		command -v npm >/dev/null || die "npm not found (needed to fetch mediasoup@$version sources)"
		log "fetching sources with npm pack mediasoup@$version"
		(cd "$work_dir" && npm pack --silent "mediasoup@$version" >/dev/null) \
			|| die "npm pack mediasoup@$version failed"
		tar -C "$work_dir" -xzf "$work_dir/mediasoup-$version.tgz"
		mv "$work_dir/package/worker" "$src_dir"
	fi
	[[ -f "$src_dir/meson.build" ]] || die "no worker/meson.build in the mediasoup $version sources"

	# 3. libsrtp (see LIBSRTP_BUILD), from a deb-src list of the system's Debian mirror.
	srtp_dir="$work_dir/libsrtp"
	mkdir -p "$srtp_dir/lists/partial"
	mirror="$(sed -n 's|^URIs: *\(http[^ ]*/debian\)/*$|\1|p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)"
	codename="$(. /etc/os-release && echo "$VERSION_CODENAME")"
	echo "deb-src ${mirror:-http://deb.debian.org/debian} $codename main" >"$srtp_dir/sources.list"
	apt_src=(-o Dir::Etc::SourceList="$srtp_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$srtp_dir/lists")
	log "fetching the libsrtp2 source package"
	apt-get "${apt_src[@]}" update -qq || die "apt-get update (deb-src) failed"
	(cd "$srtp_dir" && apt-get "${apt_src[@]}" source --download-only -qq libsrtp2) \
		|| die "apt-get source libsrtp2 failed"
	tar -C "$srtp_dir" -xzf "$srtp_dir"/libsrtp2_*.orig.tar.gz
	log "building libsrtp2 on OpenSSL"
	(cd "$srtp_dir"/libsrtp-*/ && ./configure -q --enable-openssl --disable-pcap \
		--prefix="$srtp_dir/prefix" CFLAGS='-O2 -fPIC' && make -s -j"$(nproc)" libsrtp2.a \
		&& make -s install) 2>&1 | sed -u "s/^/$TAG   /" || die "building libsrtp2 failed"
	export PKG_CONFIG_PATH="$srtp_dir/prefix/lib/pkgconfig"

	# 4. Patches.
	for p in "${patches[@]}"; do
		log "applying $(basename "$p")"
		patch -d "$src_dir" -p1 --forward --quiet <"$p" \
			|| die "patch $(basename "$p") does not apply to mediasoup $version"
	done

	# 5. Configure and compile (ninja prints one line per step).
	start=$SECONDS
	log "meson setup"
	(cd "$src_dir" && meson setup --wrap-mode=nofallback --buildtype release \
		-Db_ndebug=true -Dms_disable_liburing=true out/build) 2>&1 | sed -u "s/^/$TAG   /" \
		|| die "meson setup failed"
	log "generating FlatBuffers headers"
	meson compile -C "$src_dir/out/build" flatbuffers-generator 2>&1 | sed -u "s/^/$TAG   /" \
		|| die "FlatBuffers header generation failed"
	log "compiling mediasoup-worker"
	meson compile -C "$src_dir/out/build" mediasoup-worker 2>&1 | sed -u "s/^/$TAG   /" \
		|| die "compiling mediasoup-worker failed"
	built="$src_dir/out/build/mediasoup-worker"
	worker_runs "$built" || die "the built binary does not run: $built"
	log "built in $((SECONDS - start)) s"

	# 6. Into the cache, atomically.
	tmp_bin="$(mktemp "$cache_dir/.mediasoup-worker.XXXXXX")"
	cp "$built" "$tmp_bin"
	chmod 0755 "$tmp_bin"
	mv -f "$tmp_bin" "$cached_bin"
	build_ok=1
	log "cached: $cached_bin"
fi

# --- Install where mediasoup looks by default ------------------------------------

if [[ -d "$MS_MODULE_DIR" ]]; then
	dest="$MS_MODULE_DIR/worker/out/Release/mediasoup-worker"
	if [[ -f "$dest" ]] && cmp -s "$cached_bin" "$dest"; then
		log "already installed: $dest"
	else
		mkdir -p "$(dirname "$dest")"
		tmp_dest="$(mktemp "$(dirname "$dest")/.mediasoup-worker.XXXXXX")"
		cp "$cached_bin" "$tmp_dest"
		chmod 0755 "$tmp_dest"
		mv -f "$tmp_dest" "$dest"
		log "installed: $dest"
	fi
	worker_runs "$dest" || die "installed binary does not run: $dest"
fi

log "mediasoup-worker $version: $cached_bin"
