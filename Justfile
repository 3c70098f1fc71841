# secretbench: the recipes people type. `just` lists them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Builds live outside the checkout so every clone (and CI's fresh one) reuses them.
export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", cache_directory() / "secretbench" / "target")

[private]
default:
    @just --list --unsorted

# Run every test (unit, SDK conformance, persistence, binary contract).
test:
    cargo test --workspace --locked

# Independent clients in Python (boto3, hvac, azure-keyvault-*) against the emulator binary.
conformance *ARGS:
    cargo build --locked -p secretbench-emulators --bin secretbench-emulators
    SECRETBENCH_EMULATORS_BIN="$CARGO_TARGET_DIR/debug/secretbench-emulators" conformance/python/run.sh {{ARGS}}

# rustfmt, clippy with warnings as errors, shellcheck and actionlint.
lint: lint-tools
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    shellcheck -x .ci/run conformance/python/run.sh
    cd stack && shellcheck -x *.sh
    cargo run --quiet --locked -p secretbench -- lint scenarios
    "$(go env GOPATH)/bin/actionlint" .github/workflows/*.yml

# Installs the linters that are not Rust components (pinned in stack/versions.env).
[private]
lint-tools:
    #!/usr/bin/env bash
    set -euo pipefail
    source stack/versions.env
    command -v shellcheck >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck; }
    bin="$(go env GOPATH)/bin/actionlint"
    if [ ! -x "$bin" ] || [ "$("$bin" -version | head -1)" != "$ACTIONLINT_VERSION" ]; then
        GOTOOLCHAIN=local go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
    fi

# Format the code.
fmt:
    cargo fmt --all

# Emulator throughput, latency, cold start and memory (pass --check to fail on a missed target).
bench *ARGS:
    cargo build --release --locked -p secretbench-emulators -p secretbench-bench
    "$CARGO_TARGET_DIR/release/secretbench-bench" {{ARGS}}

# Run the emulators in the foreground (e.g. `just emulators --aws 127.0.0.1:4566 --deterministic`).
emulators *ARGS:
    cargo run --release --locked -p secretbench-emulators -- {{ARGS}}

# Bring up the host cluster: real Kubernetes, the driver and providers built from source (root).
up *ARGS:
    cargo build --locked -p secretbench
    "$CARGO_TARGET_DIR/debug/secretbench" up {{ARGS}}

# Remove everything the host cluster made (processes, mounts, interfaces, iptables rules, files).
down:
    cargo build --locked -p secretbench
    "$CARGO_TARGET_DIR/debug/secretbench" down

# Build the offline stack (cached), bring up the host cluster, run the driver smoke, tear down (root).
stack-smoke:
    #!/usr/bin/env bash
    set -euo pipefail
    need=(containerd runc containernetworking-plugins jq openssl iptables iproute2)
    missing=()
    for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    cargo build --locked -p secretbench
    sb="$CARGO_TARGET_DIR/debug/secretbench"
    trap '"$sb" down' EXIT
    "$sb" up --backend host
    "$sb" smoke

# The end-to-end suite against a real cluster, driver and providers.
e2e:
    @echo "just e2e needs the scenario runner (issue 6), which is not built yet." >&2
    @echo "What exists today: the emulators ('just emulators', 'just test', 'just conformance'), the host cluster ('just up', 'just stack-smoke') and 'secretbench lint'." >&2
    @exit 2
