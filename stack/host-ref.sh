#!/usr/bin/env bash
# Reference bring-up of the single-node "host" cluster from the binaries and images that
# stack/build.sh builds: the executable form of stack/NOTES.md, used to verify it. The
# harness's `host` backend (Rust) is the product; this script is what it reproduces.
#
#   sudo stack/host-ref.sh up        etcd, control plane, containerd, kubelet, kube-proxy,
#                                    the driver chart, the fake provider and the Azure chart
#   sudo stack/host-ref.sh smoke     a pod mounts the fake provider's files; Secret synced
#   sudo stack/host-ref.sh down      stop and remove everything outside the state dir
#   stack/host-ref.sh env            print KUBECONFIG=... for the running cluster
#
# State: ${SECRETBENCH_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/secretbench}/host-ref
# (PKI, etcd data, containerd root with the imported images, logs, pids). `down` keeps the
# state dir (so the next `up` skips image imports) and removes everything else it made.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$STACK_DIR/versions.env"

S=${SECRETBENCH_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/secretbench}/host-ref
NODE=secretbench
BRIDGE=sbbr0
POD_CIDR=10.244.0.0/24
NODE_IP=10.244.0.1 # the bridge's own address: pods reach the node (and the API) on it
SERVICE_CIDR=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
ETCD_PORT=23790
KUBELET_DIR=/var/lib/kubelet # the charts' kubeletRootDir default
# Paths outside the state dir that the cluster creates; `down` removes those that did not
# exist before `up` (recorded in $S/preexisting).
GLOBAL_PATHS=(/var/lib/kubelet /var/log/pods /var/log/containers /var/lib/cni /run/containerd
  /run/netns /var/run/secrets-store-csi-providers /etc/kubernetes)
# Sysctls that kubelet (protectKernelDefaults=false), kube-proxy and the bridge plugin change.
SYSCTLS=(net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

log() { printf '[host-ref %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf '[host-ref] error: %s\n' "$*" >&2; exit 1; }

bin() { echo "$("$STACK_DIR/build.sh" path "$1")/bin/$2"; }
kubectl() { "$(bin kubernetes kubectl)" --kubeconfig "$S/kubeconfig/admin.conf" "$@"; }
ctr_() { ctr --address "$S/containerd/containerd.sock" -n k8s.io "$@"; }

# start NAME CMD...: run a daemon in its own session, log to $S/logs/NAME.log, pid in $S/pids.
start() {
  local name=$1
  shift
  setsid "$@" >>"$S/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$S/pids/$name"
}

# wait_for SECONDS WHAT CMD...: poll CMD every 0.5 s until it succeeds.
wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for ((i = 0; i < secs * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "timed out after ${secs}s waiting for $what"
}

# --- PKI --------------------------------------------------------------------------------------
cert() { # NAME CN O [SAN]: a cert signed by the cluster CA (server+client when SAN is given)
  local d=$S/pki n=$1 cn=$2 o=$3 san=${4:-}
  openssl req -newkey rsa:2048 -nodes -keyout "$d/$n.key" -out "$d/$n.csr" \
    -subj "/CN=$cn${o:+/O=$o}" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n $san ]]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$d/$n.ext"
  openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -out "$d/$n.crt" -days 3650 -extfile "$d/$n.ext" 2>/dev/null
  rm -f "$d/$n.csr" "$d/$n.ext"
}

kubeconfig() { # USER: $S/kubeconfig/USER.conf with the client cert pki/USER.*
  local u=$1 k
  k=$(bin kubernetes kubectl)
  local f=$S/kubeconfig/$u.conf
  "$k" config set-cluster sb --server="https://$NODE_IP:6443" --certificate-authority="$S/pki/ca.crt" \
    --embed-certs --kubeconfig="$f" >/dev/null
  "$k" config set-credentials "$u" --client-certificate="$S/pki/$u.crt" --client-key="$S/pki/$u.key" \
    --embed-certs --kubeconfig="$f" >/dev/null
  "$k" config set-context sb --cluster=sb --user="$u" --kubeconfig="$f" >/dev/null
  "$k" config use-context sb --kubeconfig="$f" >/dev/null
}

make_pki() {
  [[ -f $S/pki/ca.crt ]] && return 0
  mkdir -p "$S/pki" "$S/kubeconfig"
  local d=$S/pki
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 3650 \
    -subj "/CN=secretbench-ca" 2>/dev/null
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  cert apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$API_SERVICE_IP,IP:$NODE_IP"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert admin kubernetes-admin system:masters
  cert controller-manager system:kube-controller-manager ""
  cert scheduler system:kube-scheduler ""
  cert kube-proxy system:kube-proxy ""
  cert kubelet "system:node:$NODE" system:nodes
  cert kubelet-server "$NODE" "" "DNS:$NODE,IP:$NODE_IP,IP:127.0.0.1"
  local u
  for u in admin controller-manager scheduler kube-proxy kubelet; do kubeconfig "$u"; done
}

# --- configs ----------------------------------------------------------------------------------
write_configs() {
  mkdir -p "$S/containerd" "$S/cni/net.d" "$S/cni/ipam"
  # Debian containerd 1.6. restrict_oom_score_adj: this machine's root lacks CAP_SYS_RESOURCE,
  # so runc cannot set the negative oom_score_adj kubelet asks for pod sandboxes (-998):
  # "nsexec: failed to update /proc/self/oom_score_adj: Permission denied".
  cat >"$S/containerd/config.toml" <<EOF
version = 2
root = "$S/containerd/root"
state = "$S/containerd/state"
[grpc]
  address = "$S/containerd/containerd.sock"
[ttrpc]
  address = "$S/containerd/containerd-ttrpc.sock"
[debug]
  address = "$S/containerd/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$S/cni/net.d"
EOF
  cat >"$S/cni/net.d/10-secretbench.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "secretbench",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "isDefaultGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]],
        "dataDir": "$S/cni/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF
  # syncFrequency 10s: kubelet re-publishes CSI volumes (requiresRepublish, i.e. the driver's
  # rotation) on its pod sync, so this bounds how soon a rotated secret can show.
  cat >"$S/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$S/containerd/containerd.sock
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $S/pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $S/pki/kubelet-server.crt
tlsPrivateKeyFile: $S/pki/kubelet-server.key
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
failSwapOn: false
syncFrequency: 10s
fileCheckFrequency: 10s
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
serializeImagePulls: false
EOF
  cat >"$S/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $S/kubeconfig/kube-proxy.conf}
hostnameOverride: $NODE
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
conntrack: {maxPerCore: 0}
EOF
}

# --- images -----------------------------------------------------------------------------------
import_images() {
  local dir tar digest ref have
  dir=$("$STACK_DIR/build.sh" path images)
  [[ -f $dir/images.txt ]] || die "no images: run stack/build.sh"
  while read -r tar ref; do
    digest=$(tar -xOf "$dir/$tar" index.json | jq -r '.manifests[0].digest')
    have=$(ctr_ images ls "name==$ref" | awk 'NR==2{print $3}')
    if [[ $have != "$digest" ]]; then
      ctr_ images import "$dir/$tar" >/dev/null
      log "imported $ref"
    fi
  done <"$dir/images.txt"
}

# --- up ---------------------------------------------------------------------------------------
cmd_up() {
  [[ $EUID -eq 0 ]] || die "run as root"
  [[ ! -f $S/up ]] || die "already up (run: $0 down)"
  local k t0 p
  t0=$(date +%s)
  mkdir -p "$S/logs" "$S/pids"
  : >"$S/preexisting"
  for p in "${GLOBAL_PATHS[@]}"; do [[ ! -e $p ]] || echo "$p" >>"$S/preexisting"; done
  sysctl -e "${SYSCTLS[@]}" 2>/dev/null | sed 's/ = /=/' >"$S/sysctl.orig"
  touch "$S/up"
  make_pki
  write_configs

  ip link add "$BRIDGE" type bridge
  ip addr add "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up

  start etcd "$(bin etcd etcd)" --name sb --data-dir "$S/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster sb=http://127.0.0.1:23800 --listen-metrics-urls http://127.0.0.1:23810
  start containerd containerd --config "$S/containerd/config.toml"
  start kube-apiserver "$(bin kubernetes kube-apiserver)" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --tls-cert-file="$S/pki/apiserver.crt" --tls-private-key-file="$S/pki/apiserver.key" \
    --client-ca-file="$S/pki/ca.crt" \
    --kubelet-client-certificate="$S/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$S/pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$S/pki/ca.crt" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-account-key-file="$S/pki/sa.pub" --service-account-signing-key-file="$S/pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --api-audiences=https://kubernetes.default.svc.cluster.local \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true
  wait_for 60 "containerd" ctr_ version
  import_images
  wait_for 60 "kube-apiserver /readyz" kubectl get --raw /readyz
  log "apiserver ready ($(($(date +%s) - t0))s)"
  start kube-controller-manager "$(bin kubernetes kube-controller-manager)" \
    --kubeconfig="$S/kubeconfig/controller-manager.conf" \
    --authentication-kubeconfig="$S/kubeconfig/controller-manager.conf" \
    --authorization-kubeconfig="$S/kubeconfig/controller-manager.conf" \
    --bind-address=127.0.0.1 --leader-elect=false \
    --service-account-private-key-file="$S/pki/sa.key" --root-ca-file="$S/pki/ca.crt" \
    --cluster-signing-cert-file="$S/pki/ca.crt" --cluster-signing-key-file="$S/pki/ca.key" \
    --use-service-account-credentials=true --service-cluster-ip-range="$SERVICE_CIDR"
  start kube-scheduler "$(bin kubernetes kube-scheduler)" --kubeconfig="$S/kubeconfig/scheduler.conf" \
    --authentication-kubeconfig="$S/kubeconfig/scheduler.conf" \
    --authorization-kubeconfig="$S/kubeconfig/scheduler.conf" \
    --bind-address=127.0.0.1 --leader-elect=false

  # The driver's pods mount $KUBELET_DIR/pods with Bidirectional propagation, which needs a
  # shared mount; / is private here, so make the kubelet dir a shared bind mount of itself.
  mkdir -p "$KUBELET_DIR"
  mount --bind "$KUBELET_DIR" "$KUBELET_DIR"
  mount --make-rshared "$KUBELET_DIR"
  start kubelet "$(bin kubernetes kubelet)" --config="$S/kubelet-config.yaml" \
    --kubeconfig="$S/kubeconfig/kubelet.conf" --hostname-override="$NODE" --node-ip="$NODE_IP" \
    --root-dir="$KUBELET_DIR"
  start kube-proxy "$(bin kubernetes kube-proxy)" --config="$S/kube-proxy-config.yaml"
  wait_for 90 "node Ready" kubectl wait node "$NODE" --for=condition=Ready --timeout=1s
  log "node Ready ($(($(date +%s) - t0))s)"

  local helm=(env HELM_CACHE_HOME="$S/helm/cache" HELM_CONFIG_HOME="$S/helm/config"
    HELM_DATA_HOME="$S/helm/data" KUBECONFIG="$S/kubeconfig/admin.conf" "$(bin helm helm)")
  "${helm[@]}" install csi-secrets-store "$("$STACK_DIR/build.sh" path csi-driver)/charts/secrets-store-csi-driver" \
    -n kube-system --wait --timeout 3m \
    --set syncSecret.enabled=true --set enableSecretRotation=true --set rotationPollInterval=30s \
    --set 'tokenRequests[0].audience=sts.amazonaws.com' \
    --set 'tokenRequests[1].audience=pods.eks.amazonaws.com' \
    --set 'tokenRequests[2].audience=api://AzureADTokenExchange' \
    --set 'tokenRequests[3].audience=vault' >/dev/null
  log "driver chart installed ($(($(date +%s) - t0))s)"
  kubectl apply -f "$STACK_DIR/manifests/fake-provider.yaml" >/dev/null
  "${helm[@]}" install azure "$("$STACK_DIR/build.sh" path provider-azure)/charts/csi-secrets-store-provider-azure" \
    -n kube-system --wait --timeout 2m --set secrets-store-csi-driver.install=false >/dev/null
  for k in ds/csi-secrets-store-secrets-store-csi-driver ds/secretbench-fake-provider \
    ds/azure-csi-secrets-store-provider-azure; do
    kubectl -n kube-system rollout status "$k" --timeout=120s >/dev/null
  done
  log "up: node Ready, driver, fake and azure providers Running in $(($(date +%s) - t0))s"
  echo "KUBECONFIG=$S/kubeconfig/admin.conf"
}

cmd_smoke() {
  local t0
  t0=$(date +%s)
  kubectl apply -f "$STACK_DIR/manifests/smoke-fake.yaml" >/dev/null
  kubectl -n secretbench-smoke wait pod/smoke --for=condition=Ready --timeout=120s >/dev/null
  [[ $(kubectl -n secretbench-smoke exec smoke -- cat /mnt/secrets-store/foo) == secret ]] ||
    die "smoke: /mnt/secrets-store/foo is not 'secret'"
  wait_for 30 "synced Secret smoke-synced" kubectl -n secretbench-smoke get secret smoke-synced
  [[ $(kubectl -n secretbench-smoke get secret smoke-synced -o jsonpath='{.data.username}' | base64 -d) == secret ]] ||
    die "smoke: Secret smoke-synced has the wrong username"
  kubectl delete -f "$STACK_DIR/manifests/smoke-fake.yaml" --wait=true >/dev/null
  log "smoke passed in $(($(date +%s) - t0))s (mount, exec read, Secret sync, delete)"
}

# --- down -------------------------------------------------------------------------------------
# stop_pids SECONDS NAME...: SIGTERM the recorded pids together, wait up to SECONDS for all,
# then SIGKILL what is left. Only pids this script recorded are signalled.
stop_pids() {
  local secs=$1 name pid i alive
  shift
  local pids=()
  for name in "$@"; do
    [[ -f $S/pids/$name ]] || continue
    pid=$(cat "$S/pids/$name")
    rm -f "$S/pids/$name"
    if kill -TERM "$pid" 2>/dev/null; then pids+=("$pid:$name"); fi
  done
  for ((i = 0; i < secs * 10; i++)); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "${pid%%:*}" 2>/dev/null && alive=1; done
    [[ $alive -eq 1 ]] || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "${pid%%:*}" 2>/dev/null; then
      log "${pid#*:} did not stop within ${secs}s of SIGTERM: SIGKILL"
      kill -KILL "${pid%%:*}" 2>/dev/null || true
    fi
  done
}

cmd_down() {
  [[ $EUID -eq 0 ]] || die "run as root"
  local t0 t c m p ipt tbl chain
  t0=$(date +%s)
  [[ -d $S ]] || { log "nothing to do"; return 0; }
  stop_pids 15 kubelet
  # With kubelet gone, kill every container (sandboxes included) through containerd.
  if [[ -S $S/containerd/containerd.sock ]]; then
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$t" >/dev/null 2>&1 || true; done
    for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$c" >/dev/null 2>&1 || true; done
  fi
  stop_pids 20 kube-proxy kube-scheduler kube-controller-manager kube-apiserver
  stop_pids 15 etcd containerd
  [[ ! -x $(bin kubernetes kube-proxy) ]] || "$(bin kubernetes kube-proxy)" --cleanup >/dev/null 2>&1 || true
  # Mounts: pod volumes, the kubelet bind mount, network namespaces, container rootfs and shm.
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(findmnt -rn -o TARGET | grep -E "^($KUBELET_DIR|/run/netns|$S)(/|$)" | sort -r)
  ip link del "$BRIDGE" 2>/dev/null || true
  # Rules and chains kubelet made (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT).
  for ipt in iptables ip6tables; do
    for tbl in filter nat mangle; do
      while read -r rule; do
        # shellcheck disable=SC2086 # the rule is a list of iptables words
        "$ipt" -t "$tbl" -D $rule 2>/dev/null || true
      done < <("$ipt" -t "$tbl" -S 2>/dev/null | sed -n 's/^-A \(.*KUBE-.*\)/\1/p')
      for chain in $("$ipt" -t "$tbl" -S 2>/dev/null | awk '/^-N KUBE-/{print $2}'); do
        "$ipt" -t "$tbl" -F "$chain" 2>/dev/null || true
        "$ipt" -t "$tbl" -X "$chain" 2>/dev/null || true
      done
    done
  done
  # cgroups (v1, cgroupfs driver): kubelet's kubepods tree in every hierarchy.
  for c in /sys/fs/cgroup/*/kubepods; do
    if [[ -d $c ]]; then find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
  done
  for p in "${GLOBAL_PATHS[@]}"; do
    grep -qxF "$p" "$S/preexisting" 2>/dev/null || rm -rf "$p"
  done
  if [[ -f $S/sysctl.orig ]]; then
    local orig=()
    mapfile -t orig <"$S/sysctl.orig"
    [[ ${#orig[@]} -eq 0 ]] || sysctl -q -w "${orig[@]}" || true
  fi
  # Keep PKI and the containerd root (imported images) for the next up; drop cluster data.
  rm -rf "$S/etcd" "$S/containerd/state" "$S/cni/ipam" "$S/pids" "$S/up" "$S/helm"
  log "down in $(($(date +%s) - t0))s"
}

case ${1:-} in
up) cmd_up ;;
smoke) cmd_smoke ;;
down) cmd_down ;;
env) echo "KUBECONFIG=$S/kubeconfig/admin.conf" ;;
*) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
