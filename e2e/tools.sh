#!/usr/bin/env bash
# Builds the pinned tools the e2e suite (and make bench) runs, through
# `go install module@version`, into a cache outside the clone keyed by name
# and version, the one e2e/kube-tools.sh uses:
#   ${SIGNET_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/signet-tools}/NAME-VERSION/
# and links each into the git-ignored bin/NAME-VERSION, where the tests look.
# A tool already built at its pinned version is reused, so a fresh clone on a
# machine that built them once pays nothing. The tools' own go.mod files
# decide their dependencies, so none of them enter Signet's go.mod.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/bin"
cache="${SIGNET_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/signet-tools}"
mkdir -p "$bin" "$cache"

# name (bin/NAME-VERSION/)  version  package path (its last element names the binary)
tools=(
  "cosign   v3.1.3 github.com/sigstore/cosign/v3/cmd/cosign"
  "cosign   v2.6.5 github.com/sigstore/cosign/v2/cmd/cosign"
  "registry v3.1.2 github.com/distribution/distribution/v3/cmd/registry"
  "rekor-tiles v2.3.0 github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix"
  "fulcio v1.8.8 github.com/sigstore/fulcio"
  "timestamp-authority v2.1.3 github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server"
  "crane v0.22.1 github.com/google/go-containerregistry/cmd/crane"
  "rekor-server v1.5.4 github.com/sigstore/rekor/cmd/rekor-server"
  "trillian_log_server v1.8.0 github.com/google/trillian/cmd/trillian_log_server"
  "trillian_log_signer v1.8.0 github.com/google/trillian/cmd/trillian_log_signer"
  "createtree v1.8.0 github.com/google/trillian/cmd/createtree"
  "local-kms v0.0.0-20260228092603-2a5e92d09ab6 github.com/nsmithuk/local-kms"
)

# With arguments (NAME-VERSION ...), only those are built (make bench needs two).
for t in "${tools[@]}"; do
  read -r name version pkg <<<"$t"
  if [[ $# -gt 0 && " $* " != *" $name-$version "* ]]; then
    continue
  fi
  dir="$cache/$name-$version"
  if [[ ! -x "$dir/$(basename "$pkg")" ]]; then
    echo "e2e/tools.sh: building $name $version into $dir (first run only)" >&2
    start=$(date +%s)
    tmp="$(mktemp -d "$cache/.$name-$version.XXXXXX")"
    GOBIN="$tmp" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "$pkg@$version"
    chmod 0755 "$tmp"
    # Concurrent runs race harmlessly: the loser's rename fails and its copy goes.
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
    echo "e2e/tools.sh: built $name $version in $(( $(date +%s) - start ))s" >&2
  fi
  link="$bin/$name-$version"
  if [[ "$(readlink "$link" 2>/dev/null)" != "$dir" ]]; then
    rm -rf "$link" && ln -s "$dir" "$link"
  fi
done

# Trillian's MySQL schema, which the e2e suite loads before starting the log
# server, comes from the same module version as its binaries.
schema="$bin/trillian_log_server-v1.8.0/storage.sql"
if [[ -d "$(dirname "$schema")" && ! -f "$schema" ]]; then
  moddir="$(GOFLAGS=-mod=mod go mod download -json github.com/google/trillian@v1.8.0 | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
  cp "$moddir/storage/mysql/schema/storage.sql" "$schema.tmp" && chmod 0644 "$schema.tmp" && mv "$schema.tmp" "$schema"
fi
