#!/usr/bin/env bash
# make deps: the system packages the tests use beyond Go, installed with
# apt-get (Debian/Ubuntu) as root, saying so before it starts:
#   chromium        the HTML report test (inspect); SIGNET_CHROMIUM overrides
#                   (about 112 MB to download, 390 MB on disk)
#   postgresql      the push gate's PostgreSQL store and replica tests
#                   (about 45 MB to download)
#   mariadb-server  the log's MySQL driver and the real Rekor v1 on Trillian
#                   (about 30 MB to download)
# Nothing happens for what is already there. The packages' own services are
# not started (a temporary policy-rc.d refuses them): the tests start their
# own servers on 127.0.0.1, in temp dirs, as an unprivileged user where the
# server insists. Anywhere apt-get cannot run as root, this says what is
# missing and how to get it, and fails. make test never runs this; without
# these, make test skips the tests that need them and says why (with CI=true
# it fails instead).
set -u

missing=() # Debian packages to install
notes=()   # what each is for and roughly its size

have_chromium() {
	if [ -n "${SIGNET_CHROMIUM:-}" ]; then
		echo "deps: Chromium: using SIGNET_CHROMIUM=$SIGNET_CHROMIUM" >&2
		return 0
	fi
	local c p
	for c in chromium chromium-browser; do
		if p=$(command -v "$c" 2>/dev/null); then
			echo "deps: Chromium: already installed ($p)" >&2
			return 0
		fi
	done
	return 1
}

have_postgres() {
	local p
	for p in /usr/lib/postgresql/*/bin/initdb; do
		if [ -x "$p" ]; then
			echo "deps: PostgreSQL: already installed ($(dirname "$p"))" >&2
			return 0
		fi
	done
	return 1
}

have_mariadb() {
	local p
	if p=$(PATH=$PATH:/usr/sbin command -v mariadbd 2>/dev/null) && command -v mariadb-install-db >/dev/null 2>&1; then
		echo "deps: MariaDB: already installed ($p)" >&2
		return 0
	fi
	return 1
}

have_chromium || { missing+=(chromium); notes+=("chromium (HTML report test; ~112 MB download, 390 MB on disk)"); }
have_postgres || { missing+=(postgresql); notes+=("postgresql (push gate store tests; ~45 MB download)"); }
have_mariadb || { missing+=(mariadb-server); notes+=("mariadb-server (log MySQL driver, Rekor v1 e2e; ~30 MB download)"); }

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing: ${notes[*]}" >&2
	echo "deps: this script installs them only as root with apt-get. Install them yourself" >&2
	echo "deps: (Debian/Ubuntu: sudo apt-get install ${missing[*]}), or set SIGNET_CHROMIUM to a Chromium binary." >&2
	echo "deps: without them, make test and make e2e skip the tests that need them (and fail them when CI=true)." >&2
	exit 1
fi

log=/tmp/signet-deps.log
echo "deps: installing with apt-get, as root: ${notes[*]} (log: $log)" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' services from starting: the tests run their own servers.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made_policy=1
fi
cleanup() { [ -n "$made_policy" ] && rm -f "$policy"; }
trap cleanup EXIT
install() { timeout 900 apt-get install -y --no-install-recommends "${missing[@]}"; }
if ! install >"$log" 2>&1; then
	echo "deps: apt-get install failed; running apt-get update and trying again" >&2
	timeout 300 apt-get update >>"$log" 2>&1
	if ! install >>"$log" 2>&1; then
		echo "deps: could not install ${missing[*]} (see $log)" >&2
		exit 1
	fi
fi
echo "deps: installed ${missing[*]}" >&2
