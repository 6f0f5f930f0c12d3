#!/usr/bin/env bash
# make deps: Chromium for the HTML report test (inspect). Nothing happens when
# it is already there (chromium or chromium-browser on PATH, or
# SIGNET_CHROMIUM). Otherwise, as root with apt-get, this installs Debian's
# chromium package (about 112 MB to download, 390 MB on disk) and says so
# before it starts; anywhere else it says how to get one and fails, since
# Chromium was asked for and is not there. make test never runs this.
set -u
if [ -n "${SIGNET_CHROMIUM:-}" ]; then
	echo "deps: Chromium: using SIGNET_CHROMIUM=$SIGNET_CHROMIUM" >&2
	exit 0
fi
for c in chromium chromium-browser; do
	if p=$(command -v "$c" 2>/dev/null); then
		echo "deps: Chromium: already installed ($p)" >&2
		exit 0
	fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: Chromium is not installed and this script installs it only as root with apt-get." >&2
	echo "deps: install it yourself (Debian/Ubuntu: sudo apt-get install chromium), or set SIGNET_CHROMIUM to a Chromium binary." >&2
	echo "deps: without it, make test skips the HTML report test (and fails it when CI=true)." >&2
	exit 1
fi
log=/tmp/signet-install-chromium.log
echo "deps: installing Debian's chromium with apt-get, as root (about 112 MB to download, 390 MB on disk; log: $log)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! timeout 900 apt-get install -y --no-install-recommends chromium >"$log" 2>&1; then
	echo "deps: apt-get install failed; running apt-get update and trying again" >&2
	timeout 300 apt-get update >>"$log" 2>&1
	if ! timeout 900 apt-get install -y --no-install-recommends chromium >>"$log" 2>&1; then
		echo "deps: could not install chromium (see $log)" >&2
		exit 1
	fi
fi
echo "deps: Chromium installed ($(command -v chromium))" >&2
