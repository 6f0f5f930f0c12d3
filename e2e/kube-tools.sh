#!/usr/bin/env bash
# Builds the Kubernetes control plane the e2e suite runs (kube-apiserver,
# kubectl, etcd) and Helm, each pinned, from the Go module proxy, into a cache
# outside the clone keyed by name and version:
#   ${SIGNET_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/signet-tools}/NAME-VERSION/NAME
# A tool already built at its version is reused, so only the first run pays.
# Cold (Go caches empty), on 2 cores: kube-apiserver about 5 minutes, kubectl 2-3,
# etcd about 3, helm about 3: about 14 minutes in all (measured 2026-12).
#
# k8s.io/kubernetes and etcd's server module cannot be `go install`ed: their
# go.mod files replace their sibling modules with directories of their own
# repositories. Each is built inside a scratch module that requires it and
# replaces every such sibling with its published version instead, the
# replace lines derived from the module's own go.mod.
#
# With arguments (NAME ...), only those tools are built. Prints nothing on
# stdout but, with --print-dir, the cache directory.
set -euo pipefail

kube_version=v1.37.2   # kube-apiserver and kubectl
kube_staging=v0.37.2   # the published k8s.io/* staging modules of that release
etcd_version=v3.7.3
helm_version=v4.3.2

cache="${SIGNET_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/signet-tools}"
if [[ "${1:-}" == --print-dir ]]; then
  echo "$cache"
  exit 0
fi
mkdir -p "$cache"

selected=("$@")
want() { [[ ${#selected[@]} -eq 0 || " ${selected[*]} " == *" $1 "* ]]; }

# install_into NAME VERSION BUILD-FUNCTION: runs the function with $out set to
# a fresh directory, then moves it into place. Concurrent runs race harmlessly:
# the loser's rename fails and its copy is dropped.
install_into() {
  local name=$1 version=$2 fn=$3
  local dir="$cache/$name-$version"
  if [[ -x "$dir/$name" ]]; then
    return 0
  fi
  echo "e2e/kube-tools.sh: building $name $version into $dir (first run only)" >&2
  local start; start=$(date +%s)
  out="$(mktemp -d "$cache/.$name-$version.XXXXXX")"
  trap 'rm -rf "$out"' EXIT
  "$fn"
  chmod 0755 "$out"
  if ! mv -T "$out" "$dir" 2>/dev/null; then
    rm -rf "$out"
  fi
  trap - EXIT
  echo "e2e/kube-tools.sh: built $name $version in $(( $(date +%s) - start ))s" >&2
}

# scratch_module MODULE@VERSION STAGING-PREFIX STAGING-VERSION: writes a
# go.mod in the current directory that requires MODULE and replaces each
# module its go.mod replaces with a local path by PREFIX-module@STAGING-VERSION
# (for Kubernetes, the staging module of the same release).
scratch_module() {
  local modver=$1 version_of=$2
  local mod=${modver%@*} ver=${modver#*@}
  local gomod
  gomod="$(GOFLAGS=-mod=mod go mod download -json "$modver" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  {
    echo "module signetkubebuild"
    echo
    echo "go 1.26.0"
    echo
    echo "require $mod $ver"
    echo
    # Lines such as "	k8s.io/api => ./staging/src/k8s.io/api" or "go.etcd.io/etcd/api/v3 => ../api".
    sed -n 's/^[[:space:]]*\(replace[[:space:]]\+\)\{0,1\}\([^[:space:]]\+\)[[:space:]]\+=>[[:space:]]\+\.\{1,2\}\/.*/\2/p' "$gomod" |
      while read -r dep; do
        "$version_of" "$dep"
      done
  } >go.mod
}

kube_staging_replace() {
  case "$1" in
    k8s.io/sample-*) ;; # not published; nothing the binaries import
    *) echo "replace $1 => $1 $kube_staging" ;;
  esac
}

build_kube() { # $1: command under k8s.io/kubernetes/cmd
  local work; work="$(mktemp -d)"
  (
    cd "$work"
    scratch_module "k8s.io/kubernetes@$kube_version" kube_staging_replace
    GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/$1@$kube_version" >/dev/null 2>&1 || GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/$1@$kube_version"
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$out/$1" "k8s.io/kubernetes/cmd/$1"
  )
  rm -rf "$work"
}
build_kube_apiserver() { build_kube kube-apiserver; }
build_kubectl() { build_kube kubectl; }

etcd_replace() {
  case "$1" in
    go.etcd.io/etcd/*) echo "replace $1 => $1 $etcd_version" ;;
  esac
}
build_etcd() {
  local work; work="$(mktemp -d)"
  (
    cd "$work"
    scratch_module "go.etcd.io/etcd/server/v3@$etcd_version" etcd_replace
    GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$etcd_version" >/dev/null 2>&1 || GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$etcd_version"
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$out/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$work"
}

build_helm() {
  GOBIN="$out" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install -trimpath -ldflags='-s -w' "helm.sh/helm/v4/cmd/helm@$helm_version"
}

want etcd && install_into etcd "$etcd_version" build_etcd
want helm && install_into helm "$helm_version" build_helm
want kubectl && install_into kubectl "$kube_version" build_kubectl
want kube-apiserver && install_into kube-apiserver "$kube_version" build_kube_apiserver
exit 0
