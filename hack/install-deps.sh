#!/usr/bin/env bash
# Install what cosched needs to build, test and run its demo, with apt-get, only when missing.
# Idempotent and quiet when everything is present. Safe to run as root (CI) or with sudo.
set -euo pipefail

PKGS=(
  build-essential pkg-config
  libcurl4-openssl-dev libnghttp2-dev libssl-dev openssl
  libjansson-dev libprotobuf-c-dev protobuf-c-compiler
  libcmocka-dev libyaml-dev libmicrohttpd-dev libjemalloc-dev
  cppcheck valgrind python3 python3-kubernetes python3-yaml curl
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libcurl must be the OpenSSL flavour built with nghttp2 (HTTP/2 over TLS via ALPN).
if ! curl-config --features 2>/dev/null | grep -q HTTP2; then
  echo "install-deps: warning: libcurl lacks HTTP2 support; cosched will use HTTP/1.1" >&2
fi

if ! command -v kubectl >/dev/null 2>&1; then
  cat >&2 <<'MSG'
install-deps: kubectl is not on PATH. The integration tests and the demo drive apisim with the
real kubectl. Install it from your distribution or the Kubernetes release page, put it on PATH,
and run this script again.
MSG
  exit 1
fi
exit 0
