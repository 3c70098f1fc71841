#!/usr/bin/env bash
# Assemble the stack's container images as OCI image-layout tarballs, with no registry and no
# Docker, from the binaries stack/build.sh put in the cache and from Debian packages.
#
#   stack/images.sh OUTDIR [IMAGE...]   (normally called by `stack/build.sh images`)
#
# Each image is OUTDIR/<name>.tar, one gzip layer, tagged with the image name the upstream
# chart/manifest uses (annotation io.containerd.image.name), importable with
#   ctr -n k8s.io images import OUTDIR/<name>.tar
# Layers are reproducible: sorted entries, mtime 0, uid/gid 0, gzip without timestamps.
# OUTDIR/images.txt lists "<tarball> <image ref>" for each image.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The pins, with the driver and Azure provider versions build.sh was asked for.
# shellcheck source=versions.sh
source "$STACK_DIR/versions.sh"

OUT=${1:?usage: images.sh OUTDIR}
BUILD=${SECRETBENCH_STACK_BUILD:-$STACK_DIR/build.sh}
CACHE=$("$BUILD" path)
DEBS=$CACHE/debs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/secretbench-images.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

log() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }

for tool in jq sha256sum gzip tar dpkg-deb apt-get chroot; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

bin_of() { # COMPONENT BINARY -> path of a binary in the cache
  local p
  p=$("$BUILD" path "$1")/bin/$2
  [[ -x $p ]] || die "$p is missing: run stack/build.sh $1"
  echo "$p"
}

# --- OCI layout writer --------------------------------------------------------------------
sha() { sha256sum "$1" | cut -d' ' -f1; }

# blob FILE LAYOUTDIR -> copies FILE into blobs/sha256 and prints its digest hex
blob() {
  local h
  h=$(sha "$1")
  cp "$1" "$2/blobs/sha256/$h"
  echo "$h"
}

# oci_image TARBALL ROOTFS CONFIG_JSON REF...
#   CONFIG_JSON: the OCI "config" object (Entrypoint, Cmd, Env, User, WorkingDir).
oci_image() {
  local tarball=$1 rootfs=$2 config=$3
  shift 3
  local lay
  lay=$WORK/layout-$(basename "$tarball" .tar)
  rm -rf "$lay"
  mkdir -p "$lay/blobs/sha256"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$rootfs" -cf "$WORK/layer.tar" .
  local diffid layer layer_size cfg cfg_size man man_size
  diffid=$(sha "$WORK/layer.tar")
  gzip -n -6 -c "$WORK/layer.tar" >"$WORK/layer.tar.gz"
  layer=$(blob "$WORK/layer.tar.gz" "$lay")
  layer_size=$(stat -c %s "$WORK/layer.tar.gz")
  jq -cn --argjson config "$config" --arg diffid "sha256:$diffid" '{
      created: "1970-01-01T00:00:00Z", architecture: "amd64", os: "linux",
      config: $config,
      rootfs: {type: "layers", diff_ids: [$diffid]},
      history: [{created: "1970-01-01T00:00:00Z", created_by: "secretbench stack/images.sh"}]
    }' >"$WORK/config.json"
  cfg=$(blob "$WORK/config.json" "$lay")
  cfg_size=$(stat -c %s "$WORK/config.json")
  jq -cn --arg cfg "sha256:$cfg" --argjson cfgsize "$cfg_size" \
    --arg layer "sha256:$layer" --argjson layersize "$layer_size" '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cfg, size: $cfgsize},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $layer, size: $layersize}]
    }' >"$WORK/manifest.json"
  man=$(blob "$WORK/manifest.json" "$lay")
  man_size=$(stat -c %s "$WORK/manifest.json")
  printf '%s\n' "$@" | jq -R . | jq -cs --arg man "sha256:$man" --argjson mansize "$man_size" '{
      schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: map({
        mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $man, size: $mansize,
        platform: {architecture: "amd64", os: "linux"},
        annotations: {"io.containerd.image.name": ., "org.opencontainers.image.ref.name": (split(":") | last)}
      })
    }' >"$lay/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$lay" -cf "$tarball" oci-layout index.json blobs
  local r
  for r in "$@"; do printf '%s %s\n' "$(basename "$tarball")" "$r" >>"$OUT/images.txt"; done
  log "$(basename "$tarball"): $* ($(du -h "$tarball" | cut -f1), manifest sha256:${man:0:12})"
}

# A root filesystem skeleton: merged /usr like Debian bookworm, /tmp, /etc/passwd and group.
skeleton() {
  local r=$1
  mkdir -p "$r"/{etc,tmp,usr/bin,usr/sbin,usr/lib,usr/lib64,var/run,proc,sys,dev,root}
  chmod 1777 "$r/tmp"
  ln -s usr/bin "$r/bin"
  ln -s usr/sbin "$r/sbin"
  ln -s usr/lib "$r/lib"
  ln -s usr/lib64 "$r/lib64"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
}

# Debian packages, downloaded once into the cache (apt-get download: the ordinary client).
fetch_debs() {
  mkdir -p "$DEBS"
  local p missing=()
  for p in "$@"; do
    compgen -G "$DEBS/${p}_*.deb" >/dev/null || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    local sandbox=()
    # As root, apt downloads as the _apt user, which may not reach a cache under $HOME.
    [[ $EUID -ne 0 ]] || sandbox=(-o APT::Sandbox::User=root)
    (cd "$DEBS" && apt-get download -q "${sandbox[@]}" "${missing[@]}") >&2 ||
      die "apt-get download ${missing[*]} failed (run 'apt-get update' once?)"
  fi
}

# deb_extract ROOTFS PKG...: unpack packages (no maintainer scripts) keeping the /usr symlinks.
deb_extract() {
  local r=$1 p f
  shift
  fetch_debs "$@"
  for p in "$@"; do
    f=$(compgen -G "$DEBS/${p}_*.deb" | sort -V | tail -1)
    dpkg-deb --fsys-tarfile "$f" | tar -x --keep-directory-symlink -C "$r"
  done
}

# The Mozilla CA bundle from Debian's ca-certificates package, written where Go and
# OpenSSL look first. (dpkg-deb -x runs no postinst, so build the bundle ourselves.)
ca_bundle() {
  local r=$1 tmp=$WORK/ca
  rm -rf "$tmp"
  mkdir -p "$tmp" "$r/etc/ssl/certs"
  deb_extract "$tmp" ca-certificates
  find "$tmp/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort | xargs cat >"$r/etc/ssl/certs/ca-certificates.crt"
  [[ -s $r/etc/ssl/certs/ca-certificates.crt ]] || die "empty CA bundle"
}

new_root() { # NAME -> a fresh rootfs dir
  local r=$WORK/root-$1
  rm -rf "$r"
  mkdir -p "$r"
  echo "$r"
}

PATH_ENV='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'

# --- the images -------------------------------------------------------------------------------
mkdir -p "$OUT"
: >"$OUT/images.txt"

# pause: a single static binary, like upstream's (which runs as 65535).
img_pause() {
  local r
  r=$(new_root pause)
  cp "$(bin_of pause pause)" "$r/pause"
  oci_image "$OUT/pause.tar" "$r" '{"Entrypoint":["/pause"],"User":"65535:65535"}' "$PAUSE_IMAGE"
}

# shell: Debian's busybox-static, for test pods (sh, cat, ls, sleep, wget, ...).
img_shell() {
  local r a
  r=$(new_root shell)
  skeleton "$r"
  deb_extract "$WORK" busybox-static
  cp "$WORK/bin/busybox" "$r/usr/bin/busybox"
  for a in $("$r/usr/bin/busybox" --list); do
    [[ $a == busybox || -e $r/usr/bin/$a ]] || ln -s busybox "$r/usr/bin/$a"
  done
  oci_image "$OUT/shell.tar" "$r" "{\"Cmd\":[\"sh\"],\"Env\":[$PATH_ENV]}" \
    "$SHELL_IMAGE" "localhost/secretbench/shell:r$IMAGE_REV"
}

# driver: upstream is debian-base:bookworm + ca-certificates + mount, binary /secrets-store-csi.
img_driver() {
  local r
  r=$(new_root driver)
  skeleton "$r"
  deb_extract "$r" libc6 libgcc-s1 libselinux1 libpcre2-8-0 libblkid1 libmount1 mount
  ca_bundle "$r"
  chroot "$r" /bin/mount --version >/dev/null || die "mount does not run in the driver image"
  cp "$(bin_of csi-driver secrets-store-csi-driver)" "$r/secrets-store-csi"
  oci_image "$OUT/csi-driver.tar" "$r" "{\"Entrypoint\":[\"/secrets-store-csi\"],\"Env\":[$PATH_ENV]}" \
    "$CSI_DRIVER_IMAGE"
}

# driver-crds: upstream is distroless/static + /kubectl + the chart's CRDs in /crds; the
# chart's hook Job runs `kubectl apply -f crds/` from /.
img_driver_crds() {
  local r
  r=$(new_root driver-crds)
  mkdir -p "$r/crds" "$r/tmp"
  chmod 1777 "$r/tmp"
  ca_bundle "$r"
  cp "$(bin_of kubernetes kubectl)" "$r/kubectl"
  cp "$("$BUILD" path csi-driver)"/crds/*.yaml "$r/crds/"
  oci_image "$OUT/csi-driver-crds.tar" "$r" \
    "{\"Entrypoint\":[\"/kubectl\"],\"WorkingDir\":\"/\",\"Env\":[$PATH_ENV,\"HOME=/tmp\"]}" \
    "$CSI_DRIVER_CRDS_IMAGE"
}

# CSI sidecars: secretbench stand-ins (stack/csi-sidecars), because the upstream modules are not
# served by the module proxy here. Upstream images are distroless/static + one binary in /.
STANDIN_LABEL='"Labels":{"org.opencontainers.image.description":"secretbench stand-in built from stack/csi-sidecars, not the upstream binary"}'
img_node_driver_registrar() {
  local r
  r=$(new_root registrar)
  mkdir -p "$r/tmp"
  chmod 1777 "$r/tmp"
  cp "$(bin_of csi-sidecars csi-node-driver-registrar)" "$r/csi-node-driver-registrar"
  oci_image "$OUT/csi-node-driver-registrar.tar" "$r" \
    "{\"Entrypoint\":[\"/csi-node-driver-registrar\"],$STANDIN_LABEL}" "$NODE_DRIVER_REGISTRAR_IMAGE"
}
img_livenessprobe() {
  local r
  r=$(new_root livenessprobe)
  mkdir -p "$r/tmp"
  chmod 1777 "$r/tmp"
  cp "$(bin_of csi-sidecars livenessprobe)" "$r/livenessprobe"
  oci_image "$OUT/livenessprobe.tar" "$r" \
    "{\"Entrypoint\":[\"/livenessprobe\"],$STANDIN_LABEL}" "$LIVENESSPROBE_IMAGE"
}

# provider-azure: upstream is mariner distroless/minimal + /bin/secrets-store-csi-driver-provider-azure.
img_provider_azure() {
  local r
  r=$(new_root provider-azure)
  skeleton "$r"
  ca_bundle "$r"
  cp "$(bin_of provider-azure secrets-store-csi-driver-provider-azure)" "$r/usr/bin/"
  oci_image "$OUT/provider-azure.tar" "$r" \
    "{\"Entrypoint\":[\"secrets-store-csi-driver-provider-azure\"],\"Env\":[$PATH_ENV]}" \
    "$AZURE_PROVIDER_IMAGE"
}

# fake-provider: the driver's provider/fake test double behind a small main (stack/fake-provider).
img_fake_provider() {
  local r
  r=$(new_root fake-provider)
  mkdir -p "$r/tmp"
  chmod 1777 "$r/tmp"
  cp "$(bin_of fake-provider fake-provider)" "$r/fake-provider"
  oci_image "$OUT/fake-provider.tar" "$r" '{"Entrypoint":["/fake-provider"]}' "$FAKE_PROVIDER_IMAGE"
}

ALL_IMAGES=(pause shell driver driver_crds node_driver_registrar livenessprobe provider_azure fake_provider)
if [[ $# -gt 1 ]]; then WANT=("${@:2}"); else WANT=("${ALL_IMAGES[@]}"); fi
for i in "${WANT[@]}"; do
  declare -F "img_${i//-/_}" >/dev/null || die "unknown image '$i' (known: ${ALL_IMAGES[*]})"
  "img_${i//-/_}"
done
log "wrote $(wc -l <"$OUT/images.txt") image refs to $OUT"
