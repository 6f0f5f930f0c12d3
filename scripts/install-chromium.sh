#!/usr/bin/env bash
# Installs Debian's Chromium for the HTML report test (inspect), when it is
# missing and this machine can: root with apt-get. Never fails the build:
# without Chromium the test skips and says why.
set -u
for c in chromium chromium-browser; do
	if command -v "$c" >/dev/null 2>&1; then
		exit 0
	fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-chromium: not root or no apt-get; the HTML report test will skip (apt-get install chromium to run it)" >&2
	exit 0
fi
echo "install-chromium: apt-get install chromium (for the HTML report test)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! timeout 900 apt-get install -y --no-install-recommends chromium >/tmp/signet-install-chromium.log 2>&1; then
	timeout 300 apt-get update >>/tmp/signet-install-chromium.log 2>&1
	timeout 900 apt-get install -y --no-install-recommends chromium >>/tmp/signet-install-chromium.log 2>&1 ||
		echo "install-chromium: failed (see /tmp/signet-install-chromium.log); the HTML report test will skip" >&2
fi
exit 0
