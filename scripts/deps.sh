#!/usr/bin/env bash
# Installs what moonlog needs to build and test, and nothing when all of it is there.
# Debian packages first (by package name), then the specs' npm packages from the committed lock.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential pkg-config luajit libluajit-5.1-dev libevent-dev libzstd-dev zlib1g-dev
          liblz4-dev libsnappy-dev lua-busted kcat iperf3 valgrind procps gzip zstd lz4)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from Debian or elsewhere; what matters is that both commands work.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -f spec/compat/package.json ] && [ ! -d spec/compat/node_modules ] ; then
    echo "deps: installing the specs' npm packages (spec/compat/package-lock.json)"
    (cd spec/compat && npm ci --no-audit --no-fund --loglevel=error)
fi
