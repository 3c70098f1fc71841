#!/usr/bin/env bash
# Build the offline Kubernetes + Secrets Store CSI stack from source, cached by version.
#
#   stack/build.sh [all]          build every binary and image that is missing from the cache
#   stack/build.sh COMPONENT...   build only these (see `stack/build.sh list`)
#   stack/build.sh mods [MOD...]  regenerate the wrapper modules' go.mod/go.sum from versions.env
#   stack/build.sh list           print the components
#   stack/build.sh path [COMP]    print the cache dir (or one component's output dir)
#   stack/build.sh gc             remove cache entries that are no longer current
#
# Options (before or after the command): --driver vX.Y.Z, --azure-provider vX.Y.Z build and
# name the driver (its binary, chart, CRDs and images) or the Azure provider at that version
# instead of the pin (also SECRETBENCH_DRIVER_VERSION, SECRETBENCH_AZURE_PROVIDER_VERSION; see
# versions.sh); --kubernetes v1.Y.Z (SECRETBENCH_KUBERNETES_VERSION) the Kubernetes binaries
# (kubectl also goes into the CRDs image). Their wrapper module is generated from the module proxy into the component's
# cache entry (src/), so no go.mod is committed for them; the pins keep their committed ones.
#
# Cache: ${SECRETBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secretbench}/stack/<component>-<version>/
# A component is built into a temporary directory next to its final place and renamed into
# place only when complete, so an interrupted build never leaves a half output; a component
# whose directory exists is not rebuilt.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Version options, taken out of the arguments before the pins are read.
ARGS=()
while [[ $# -gt 0 ]]; do
  case $1 in
  --driver) export SECRETBENCH_DRIVER_VERSION=${2:?--driver needs a version}; shift 2 ;;
  --driver=*) export SECRETBENCH_DRIVER_VERSION=${1#*=}; shift ;;
  --azure-provider) export SECRETBENCH_AZURE_PROVIDER_VERSION=${2:?--azure-provider needs a version}; shift 2 ;;
  --azure-provider=*) export SECRETBENCH_AZURE_PROVIDER_VERSION=${1#*=}; shift ;;
  --kubernetes) export SECRETBENCH_KUBERNETES_VERSION=${2:?--kubernetes needs a version}; shift 2 ;;
  --kubernetes=*) export SECRETBENCH_KUBERNETES_VERSION=${1#*=}; shift ;;
  *) ARGS+=("$1"); shift ;;
  esac
done
set -- "${ARGS[@]+"${ARGS[@]}"}"
# shellcheck source=versions.sh
source "$STACK_DIR/versions.sh"

CACHE_ROOT=${SECRETBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secretbench}
CACHE=$CACHE_ROOT/stack

export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS=-buildvcs=false
# Builds yield the CPU to anything else running on the machine.
NICE=(nice -n 19)
GO_BUILD_FLAGS=(-trimpath)

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# The staging modules' version: k8s v1.34.4 -> v0.34.4 (of the pin with `pinned`: the sidecar
# stand-ins are built against the pinned kubelet API whatever Kubernetes runs).
staging_version() {
  local k=$KUBERNETES_VERSION
  [[ ${1:-} != pinned ]] || k=$PINNED_KUBERNETES_VERSION
  printf 'v0.%s\n' "${k#v1.}"
}

# Short hash of local source files (paths relative to stack/, globs allowed), so that a change
# of our own wrapper code makes a new key.
src_hash() {
  local pat f files=()
  for pat in "$@"; do
    for f in "$STACK_DIR"/$pat; do
      [[ -f $f ]] || die "src_hash: no file matches stack/$pat"
      files+=("$f")
    done
  done
  cat "${files[@]}" | sha256sum | cut -c1-12
}

# --- component keys (the cache directory names) -------------------------------------------
key_kubernetes() { echo "kubernetes-$KUBERNETES_VERSION"; }
key_etcd() { echo "etcd-$ETCD_VERSION"; }
# The pinned driver's key hashes its committed wrapper; another version's wrapper is generated
# from the version alone, so only our mlog stand-in goes into its key.
key_csi_driver() {
  if driver_pinned; then
    echo "csi-driver-$CSI_DRIVER_VERSION-$(src_hash csi-driver/go.mod csi-driver/mlog/go.mod csi-driver/mlog/mlog.go)"
  else
    echo "csi-driver-$CSI_DRIVER_VERSION-$(src_hash csi-driver/mlog/go.mod csi-driver/mlog/mlog.go)"
  fi
}
key_provider_azure() { echo "provider-azure-$AZURE_PROVIDER_VERSION"; }
# The fake provider is the pinned driver's test double, whatever driver runs.
key_fake_provider() { echo "fake-provider-$PINNED_CSI_DRIVER_VERSION-$(src_hash fake-provider/go.mod fake-provider/go.sum fake-provider/main.go)"; }
key_csi_sidecars() { echo "csi-sidecars-$(staging_version pinned)-$CSI_SPEC_VERSION-$(src_hash csi-sidecars/go.mod csi-sidecars/go.sum csi-sidecars/*/main.go csi-sidecars/internal/*/*.go)"; }
key_helm() { echo "helm-$HELM_VERSION"; }
key_pause() { echo "pause-$(src_hash pause/go.mod pause/main.go)"; }
key_vault() { echo "vault-$VAULT_VERSION"; }
# Images depend on the assembly script, the pins and every binary they hold.
key_images() {
  local h
  h=$({ src_hash versions.env versions.sh images.sh; key_kubernetes; key_csi_driver; key_provider_azure
    key_fake_provider; key_csi_sidecars; key_pause; } | sha256sum | cut -c1-12)
  echo "images-r$IMAGE_REV-$h"
}

driver_pinned() { [[ $CSI_DRIVER_VERSION == "$PINNED_CSI_DRIVER_VERSION" ]]; }
azure_pinned() { [[ $AZURE_PROVIDER_VERSION == "$PINNED_AZURE_PROVIDER_VERSION" ]]; }

COMPONENTS=(kubernetes etcd csi_driver provider_azure fake_provider csi_sidecars helm pause images vault)

# --- the cache / atomic-output machinery ----------------------------------------------------
# build_into KEY FUNCTION: run FUNCTION OUTDIR into a temp dir, then rename to $CACHE/KEY.
TIMINGS=()
build_into() {
  local key=$1 fn=$2 out tmp start end
  out=$CACHE/$key
  if [[ -d $out ]]; then
    log "$key: cached"
    TIMINGS+=("$key cached")
    return 0
  fi
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.tmp-$key.XXXXXX")
  log "$key: building"
  start=$(date +%s)
  # A subshell outside any condition, so that `set -e` stays in force inside the builder.
  local rc=0
  set +e
  (set -e; "$fn" "$tmp")
  rc=$?
  set -e
  if [[ $rc -ne 0 ]]; then
    rm -rf "$tmp"
    die "$key: build failed (exit $rc)"
  fi
  end=$(date +%s)
  printf 'key=%s\nbuilt_at=%s\nseconds=%s\ngo=%s\n' "$key" "$(date -u +%FT%TZ)" \
    "$((end - start))" "$(go env GOVERSION)" >"$tmp/BUILD-INFO"
  chmod 0755 "$tmp"
  mv -T "$tmp" "$out"
  log "$key: done in $((end - start))s"
  TIMINGS+=("$key $((end - start))s")
}

# Remove temp dirs left by killed builds (we hold the lock, so none is in use).
clean_stale_tmp() {
  local d
  for d in "$CACHE"/.tmp-*; do
    [[ -e $d ]] || continue
    log "removing stale $(basename "$d")"
    rm -rf "$d"
  done
}

# --- wrapper modules --------------------------------------------------------------------------
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl)

# Print the go, godebug and replace lines of a module's go.mod fetched from the proxy.
module_gomod() {
  local mod=$1
  "${NICE[@]}" go mod download -json "$mod" | jq -r '.GoMod // empty'
}

gen_k8s_mod() {
  local dir=${1:-$STACK_DIR/k8s} gomod sv goline godebug staging
  gomod=$(module_gomod "k8s.io/kubernetes@$KUBERNETES_VERSION")
  [[ -n $gomod ]] || die "cannot fetch go.mod of k8s.io/kubernetes@$KUBERNETES_VERSION"
  sv=$(staging_version)
  goline=$(grep -m1 '^go ' "$gomod")
  godebug=$(grep -m1 '^godebug ' "$gomod" || true)
  # Staging modules are the `=> ./staging/src/...` replaces of k8s.io/kubernetes' go.mod.
  staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*#\1#p' "$gomod")
  [[ -n $staging ]] || die "no staging replaces found in $gomod"
  mkdir -p "$dir"
  {
    echo "// Generated by stack/build.sh mods from stack/versions.env; do not edit by hand."
    echo "// Builds the Kubernetes binaries from k8s.io/kubernetes@$KUBERNETES_VERSION; its staging"
    echo "// modules are pinned to their published tags $sv (k8s v1.Y.Z <-> staging v0.Y.Z)."
    echo "module secretbench.local/stack/${TOOL_MOD_NAME:-k8s}"
    echo
    echo "$goline"
    [[ -z $godebug ]] || { echo; echo "$godebug"; }
    echo
    echo "tool ("
    local c
    for c in "${K8S_CMDS[@]}"; do echo "	k8s.io/kubernetes/cmd/$c"; done
    echo ")"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "replace ("
    local m
    for m in $staging; do echo "	$m => $m $sv"; done
    echo ")"
  } >"$dir/go.mod"
  rm -f "$dir/go.sum"
  (cd "$dir" && "${NICE[@]}" go mod tidy)
}

# gen_tool_mod DIR MODULE VERSION PKG...: a wrapper module whose only requirement is MODULE,
# so that the build list is the one MODULE's own go.mod gives. (`go install PKG@VERSION` would
# do the same, but it also lists the module's versions for deprecation notices, which the
# module proxy here refuses for these modules.) $TOOL_MOD_REPLACE: "old=>new" lines to add.
gen_tool_mod() {
  local dir=$1 mod=$2 ver=$3 gomod goline godebug p
  [[ $dir == /* ]] || dir=$STACK_DIR/$dir
  shift 3
  gomod=$(module_gomod "$mod@$ver")
  [[ -n $gomod ]] || die "cannot fetch go.mod of $mod@$ver"
  goline=$(grep -m1 '^go ' "$gomod")
  godebug=$(grep -m1 '^godebug ' "$gomod" || true)
  mkdir -p "$dir"
  {
    echo "// Generated by stack/build.sh mods from stack/versions.env; do not edit by hand."
    echo "module secretbench.local/stack/${TOOL_MOD_NAME:-$(basename "$dir")}"
    echo
    echo "$goline"
    [[ -z $godebug ]] || { echo; echo "$godebug"; }
    echo
    echo "tool ("
    for p in "$@"; do echo "	$p"; done
    echo ")"
    echo
    echo "require $mod $ver"
    if [[ -n ${TOOL_MOD_REPLACE:-} ]]; then
      echo
      if [[ $TOOL_MOD_REPLACE == *$'\n'* ]]; then
        echo "replace ("
        while IFS= read -r p; do echo "	$p"; done <<<"$TOOL_MOD_REPLACE"
        echo ")"
      else
        echo "replace $TOOL_MOD_REPLACE"
      fi
    fi
  } >"$dir/go.mod"
  rm -f "$dir/go.sum"
  (cd "$dir" && "${NICE[@]}" go mod tidy)
}

gen_etcd_mod() {
  local dir=$STACK_DIR/etcd
  cat >"$dir/go.mod" <<EOF
// Generated by stack/build.sh mods from stack/versions.env; do not edit by hand.
module secretbench.local/stack/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
  rm -f "$dir/go.sum"
  (cd "$dir" && "${NICE[@]}" go mod tidy)
  # go mod tidy may lower/raise the etcd sibling modules; pin them to the same tag.
  local m
  for m in api/v3 client/pkg/v3 client/v3 pkg/v3; do
    if grep -q "go.etcd.io/etcd/$m " "$dir/go.mod"; then
      (cd "$dir" && "${NICE[@]}" go mod edit -require="go.etcd.io/etcd/$m@$ETCD_VERSION")
    fi
  done
  (cd "$dir" && "${NICE[@]}" go mod tidy)
}

gen_fake_provider_mod() {
  local dir=$STACK_DIR/fake-provider
  cat >"$dir/go.mod" <<EOF
// Generated by stack/build.sh mods from stack/versions.env; do not edit by hand.
module secretbench.local/stack/fake-provider

go 1.25.9

require sigs.k8s.io/secrets-store-csi-driver $CSI_DRIVER_VERSION
EOF
  rm -f "$dir/go.sum"
  (cd "$dir" && "${NICE[@]}" go mod tidy)
}

gen_sidecars_mod() {
  local dir=$STACK_DIR/csi-sidecars
  cat >"$dir/go.mod" <<EOF
// Generated by stack/build.sh mods from stack/versions.env; do not edit by hand.
module secretbench.local/stack/csi-sidecars

go 1.24.0

require (
	github.com/container-storage-interface/spec $CSI_SPEC_VERSION
	k8s.io/kubelet $(staging_version pinned)
)
EOF
  rm -f "$dir/go.sum"
  (cd "$dir" && "${NICE[@]}" go mod tidy)
}

# Vault's go.mod replaces its own api/sdk modules with directories of its repository, which the
# wrapper cannot do: it uses their published versions that Vault's go.mod requires. Its
# third-party replaces (forks it builds against) are carried over as Vault's go.mod has them.
gen_vault_mod() {
  local gomod replaces
  gomod=$(module_gomod "github.com/hashicorp/vault@$VAULT_VERSION")
  [[ -n $gomod ]] || die "cannot fetch go.mod of github.com/hashicorp/vault@$VAULT_VERSION"
  replaces=$(go mod edit -json "$gomod" | jq -r '.Replace // [] | .[]
    | select(.New.Path | startswith("./") | not)
    | "\(.Old.Path)\(if .Old.Version then " " + .Old.Version else "" end) => \(.New.Path)\(if .New.Version then " " + .New.Version else "" end)"')
  [[ -n $replaces ]] || die "no third-party replaces found in $gomod (has Vault's go.mod changed?)"
  TOOL_MOD_REPLACE=$replaces gen_tool_mod vault github.com/hashicorp/vault "$VAULT_VERSION" github.com/hashicorp/vault
}

# The driver's wrapper module in DIR (stack/csi-driver, or a generated one in the cache).
# monis.app/mlog (the driver's logging helper) is refused by the module proxy here:
# stack/csi-driver/mlog is our stand-in for the part of its API the driver uses (the same
# five identifiers in v1.4.x, v1.5.x and v1.6.0); a generated module gets a copy of it.
gen_driver_mod() {
  TOOL_MOD_REPLACE="monis.app/mlog => ./mlog" \
    gen_tool_mod "$1" sigs.k8s.io/secrets-store-csi-driver "$CSI_DRIVER_VERSION" \
    sigs.k8s.io/secrets-store-csi-driver/cmd/secrets-store-csi-driver
}

# The Azure provider's wrapper module in DIR. The checksum database behind the proxy here has
# no record of some of the provider's requirements (v1.8.2: driver v1.5.4, an azidentity
# pseudo-version): skip the lookup for those module prefixes when the module is generated;
# go.sum (committed for the pin, kept in the cache entry otherwise) then pins their hashes.
gen_azure_mod() {
  GONOSUMDB=sigs.k8s.io/secrets-store-csi-driver,github.com/Azure/azure-sdk-for-go \
    gen_tool_mod "$1" github.com/Azure/secrets-store-csi-driver-provider-azure \
    "$AZURE_PROVIDER_VERSION" github.com/Azure/secrets-store-csi-driver-provider-azure/cmd
}

# The wrapper module a build uses: the committed one for the pin, else one generated for the
# version into OUT/src (kept with the output: it records the exact build list).
# wrapper_mod COMPONENT-DIR OUT GENERATOR PINNED?
wrapper_mod() {
  local name=$1 out=$2 gen=$3 pinned=$4
  if [[ $pinned == yes ]]; then
    echo "$STACK_DIR/$name"
    return
  fi
  mkdir -p "$out/src"
  if [[ $name == csi-driver ]]; then
    cp -r "$STACK_DIR/csi-driver/mlog" "$out/src/mlog"
  fi
  TOOL_MOD_NAME=$name "$gen" "$out/src" >&2
  echo "$out/src"
}

cmd_mods() {
  [[ -z ${SECRETBENCH_DRIVER_VERSION:-}${SECRETBENCH_AZURE_PROVIDER_VERSION:-}${SECRETBENCH_KUBERNETES_VERSION:-} ]] ||
    die "mods regenerates the committed wrapper modules from versions.env; drop --driver/--azure-provider/--kubernetes"
  local m mods=("$@")
  [[ ${#mods[@]} -gt 0 ]] || mods=(k8s etcd csi-driver provider-azure helm fake-provider csi-sidecars vault)
  for m in "${mods[@]}"; do
    case $m in
    k8s) gen_k8s_mod "$STACK_DIR/k8s" ;;
    etcd) gen_etcd_mod ;;
    fake-provider) gen_fake_provider_mod ;;
    csi-sidecars) gen_sidecars_mod ;;
    csi-driver) gen_driver_mod csi-driver ;;
    provider-azure) gen_azure_mod provider-azure ;;
    helm) gen_tool_mod helm helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm ;;
    vault) gen_vault_mod ;;
    *) die "unknown wrapper module '$m'" ;;
    esac
  done
  log "wrapper modules regenerated; commit stack/*/go.mod and go.sum"
}

# Fail early when a wrapper module does not match versions.env.
check_mod() {
  local dir=$1 mod=$2 want=$3 have
  have=$( (cd "$STACK_DIR/$dir" && go list -m -f '{{.Version}}' "$mod") 2>/dev/null) || have=""
  [[ $have == "$want" ]] ||
    die "stack/$dir/go.mod has $mod ${have:-<none>}, versions.env says $want: run stack/build.sh mods"
}

# --- builders (each gets its output directory as $1) -----------------------------------------
build_kubernetes() {
  local out=$1 minor info ts ldf="-s -w" pkg mod pinned=no
  [[ $KUBERNETES_VERSION != "$PINNED_KUBERNETES_VERSION" ]] || pinned=yes
  mod=$(wrapper_mod k8s "$out" gen_k8s_mod $pinned)
  [[ $pinned == no ]] || check_mod k8s k8s.io/kubernetes "$KUBERNETES_VERSION"
  minor=${KUBERNETES_VERSION#v1.}
  minor=${minor%%.*}
  info=$("${NICE[@]}" go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | jq -r .Info)
  ts=$(jq -r .Time "$info")
  # hack/lib/version.sh kube::version::ldflags: the same keys on both packages.
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldf+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldf+=" -X $pkg.gitCommit= -X $pkg.gitTreeState=archive -X $pkg.buildDate=$ts"
  done
  mkdir -p "$out/bin"
  local pkgs=() c
  for c in "${K8S_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  (cd "$mod" && "${NICE[@]}" go build "${GO_BUILD_FLAGS[@]}" -ldflags "$ldf" -o "$out/bin/" "${pkgs[@]}")
  "$out/bin/kubectl" version --client >"$out/VERSION"
}

build_etcd() {
  local out=$1
  check_mod etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  mkdir -p "$out/bin"
  (cd "$STACK_DIR/etcd" && "${NICE[@]}" go build "${GO_BUILD_FLAGS[@]}" -ldflags "-s -w" -o "$out/bin/etcd" .)
  "$out/bin/etcd" --version >"$out/VERSION"
}

# go_tool_build DIR OUT PKG LDFLAGS: build PKG inside the wrapper module DIR (absolute, or
# relative to stack/) to OUT.
go_tool_build() {
  local dir=$1 out=$2 pkg=$3 ldf=$4
  [[ $dir == /* ]] || dir=$STACK_DIR/$dir
  mkdir -p "$(dirname "$out")"
  (cd "$dir" && "${NICE[@]}" go build "${GO_BUILD_FLAGS[@]}" -ldflags "$ldf" -o "$out" "$pkg")
}

# module_field MODULE@VERSION FIELD: a field of `go mod download -json` (Dir, Info, ...).
module_field() { "${NICE[@]}" go mod download -json "$1" | jq -r ".$2"; }

build_csi_driver() {
  local out=$1 p=sigs.k8s.io/secrets-store-csi-driver/pkg/version m ts dir mod pinned=no
  m=sigs.k8s.io/secrets-store-csi-driver
  driver_pinned && pinned=yes
  mod=$(wrapper_mod csi-driver "$out" gen_driver_mod $pinned)
  [[ $pinned == no ]] || check_mod csi-driver "$m" "$CSI_DRIVER_VERSION"
  ts=$(jq -r .Time "$(module_field "$m@$CSI_DRIVER_VERSION" Info)")
  go_tool_build "$mod" "$out/bin/secrets-store-csi-driver" "$m/cmd/secrets-store-csi-driver" \
    "-s -w -X $p.BuildVersion=$CSI_DRIVER_VERSION -X $p.BuildTime=$ts -X $p.Vcs=module-zip"
  # The chart and the CRDs travel in the module zip; keep copies next to the binary.
  dir=$(module_field "$m@$CSI_DRIVER_VERSION" Dir)
  mkdir -p "$out/charts" "$out/crds"
  cp -r "$dir/charts/secrets-store-csi-driver" "$out/charts/"
  cp "$dir/charts/secrets-store-csi-driver/crds/"*.yaml "$out/crds/"
  chmod -R u+w "$out/charts" "$out/crds"
}

build_provider_azure() {
  local out=$1 m=github.com/Azure/secrets-store-csi-driver-provider-azure ts dir drv mod pinned=no
  azure_pinned && pinned=yes
  mod=$(wrapper_mod provider-azure "$out" gen_azure_mod $pinned)
  [[ $pinned == no ]] || check_mod provider-azure "$m" "$AZURE_PROVIDER_VERSION"
  ts=$(jq -r .Time "$(module_field "$m@$AZURE_PROVIDER_VERSION" Info)")
  go_tool_build "$mod" "$out/bin/secrets-store-csi-driver-provider-azure" "$m/cmd" \
    "-s -w -X $m/pkg/version.BuildVersion=$AZURE_PROVIDER_VERSION -X $m/pkg/version.BuildDate=$ts -X $m/pkg/version.Vcs=module-zip"
  dir=$(module_field "$m@$AZURE_PROVIDER_VERSION" Dir)
  mkdir -p "$out/charts"
  cp -r "$dir/charts/csi-secrets-store-provider-azure" "$out/charts/"
  # The chart declares the driver chart as a dependency (condition secrets-store-csi-driver.install);
  # helm refuses a chart whose declared dependency is missing from charts/, even when disabled.
  # Put the pinned driver chart there (install it separately, with ...install=false), whatever
  # driver version runs, so that this entry does not depend on it.
  drv=$(module_field "sigs.k8s.io/secrets-store-csi-driver@$PINNED_CSI_DRIVER_VERSION" Dir)
  mkdir -p "$out/charts/csi-secrets-store-provider-azure/charts"
  cp -r "$drv/charts/secrets-store-csi-driver" "$out/charts/csi-secrets-store-provider-azure/charts/"
  chmod -R u+w "$out/charts"
}

build_fake_provider() {
  local out=$1
  check_mod fake-provider sigs.k8s.io/secrets-store-csi-driver "$PINNED_CSI_DRIVER_VERSION"
  mkdir -p "$out/bin"
  (cd "$STACK_DIR/fake-provider" && "${NICE[@]}" go build "${GO_BUILD_FLAGS[@]}" -ldflags "-s -w" -o "$out/bin/fake-provider" .)
}

build_csi_sidecars() {
  local out=$1
  check_mod csi-sidecars k8s.io/kubelet "$(staging_version pinned)"
  check_mod csi-sidecars github.com/container-storage-interface/spec "$CSI_SPEC_VERSION"
  mkdir -p "$out/bin"
  (cd "$STACK_DIR/csi-sidecars" && "${NICE[@]}" go build "${GO_BUILD_FLAGS[@]}" -ldflags "-s -w" \
    -o "$out/bin/" ./node-driver-registrar ./livenessprobe)
  mv "$out/bin/node-driver-registrar" "$out/bin/csi-node-driver-registrar"
}

build_helm() {
  local out=$1 v=helm.sh/helm/v3/internal/version
  check_mod helm helm.sh/helm/v3 "$HELM_VERSION"
  go_tool_build helm "$out/bin/helm" helm.sh/helm/v3/cmd/helm \
    "-s -w -X $v.version=$HELM_VERSION -X $v.gitTreeState=archive"
  "$out/bin/helm" version --short >"$out/VERSION"
}

build_pause() {
  local out=$1
  mkdir -p "$out/bin"
  (cd "$STACK_DIR/pause" && "${NICE[@]}" go build "${GO_BUILD_FLAGS[@]}" -ldflags "-s -w" -o "$out/bin/pause" .)
}

# Vault's version comes from the VERSION file embedded in its version package; the ldflags are
# the ones its release build sets besides it (scripts/ci-helper.sh build), with the module's
# commit time as the build date.
build_vault() {
  local out=$1 m=github.com/hashicorp/vault ts
  check_mod vault "$m" "$VAULT_VERSION"
  ts=$(jq -r .Time "$(module_field "$m@$VAULT_VERSION" Info)")
  go_tool_build vault "$out/bin/vault" "$m" \
    "-s -w -X $m/version.GitCommit= -X $m/version.BuildDate=$ts"
  "$out/bin/vault" version >"$out/VERSION"
  grep -q "^Vault ${VAULT_VERSION}[ ,]" "$out/VERSION" ||
    die "built vault reports '$(cat "$out/VERSION")', versions.env says $VAULT_VERSION"
}

build_images() {
  SECRETBENCH_STACK_BUILD="$STACK_DIR/build.sh" "$STACK_DIR/images.sh" "$1"
}

# Remove cache entries that no current key names (older versions, changed wrapper code).
cmd_gc() {
  local keep=(debs) c d n k found
  for c in "${COMPONENTS[@]}"; do keep+=("$("key_$c")"); done
  [[ -d $CACHE ]] || return 0
  exec 9>"$CACHE/.lock"
  flock 9
  for d in "$CACHE"/*/; do
    n=$(basename "$d")
    found=0
    for k in "${keep[@]}"; do [[ $n == "$k" ]] && found=1; done
    if [[ $found -eq 0 ]]; then
      log "gc: removing $n ($(du -sh "$d" | cut -f1))"
      rm -rf "$d"
    fi
  done
}

# --- main ---------------------------------------------------------------------------------
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

main() {
  local cmd=${1:-all}
  case $cmd in
  -h | --help | help) usage; return 0 ;;
  list) printf '%s\n' "${COMPONENTS[@]}"; return 0 ;;
  path)
    if [[ $# -ge 2 ]]; then echo "$CACHE/$("key_${2//-/_}")"; else echo "$CACHE"; fi
    return 0 ;;
  mods) shift; cmd_mods "$@"; return 0 ;;
  gc) cmd_gc; return 0 ;;
  esac

  local want=()
  if [[ $cmd == all ]]; then want=("${COMPONENTS[@]}"); else want=("${@//-/_}"); fi
  local c
  for c in "${want[@]}"; do
    declare -F "build_$c" >/dev/null || die "unknown component '$c' (see: stack/build.sh list)"
  done
  # Images are assembled from the binaries: build what they need first.
  if [[ " ${want[*]} " == *" images "* ]]; then
    local need=(kubernetes csi_driver provider_azure fake_provider csi_sidecars pause) n
    for n in "${need[@]}"; do [[ " ${want[*]} " == *" $n "* ]] || want=("$n" "${want[@]}"); done
  fi

  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  clean_stale_tmp
  local t0
  t0=$(date +%s)
  for c in "${want[@]}"; do
    build_into "$("key_$c")" "build_$c"
  done
  log "summary ($(($(date +%s) - t0))s total):"
  printf '  %s\n' "${TIMINGS[@]}" >&2
}

main "$@"
