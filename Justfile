# secretbench: the recipes people type. `just` lists them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Builds live outside the checkout so every clone (and CI's fresh one) reuses them.
export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", cache_directory() / "secretbench" / "target")

[private]
default:
    @just --list --unsorted

# Also checks the scenario snapshot workflow with the pinned cargo-insta.
# Run every test (unit, SDK conformance, persistence, binary contract, the report in Chromium).
test: browser-deps cargo-insta
    cargo test --workspace --locked
    cargo test --locked -p secretbench --test scenario_snapshots -- --ignored

# `just snapshots` is `cargo insta review`; `just snapshots accept`, `just snapshots
# pending-snapshots` and the rest pass through (plain `cargo insta ...` works the same).
# Review the snapshots a scenario run left (`.snap.new`) with the pinned cargo-insta.
snapshots *ARGS: cargo-insta
    cargo insta {{ if ARGS == "" { "review" } else { ARGS } }}

# Installs cargo-insta at the version pinned in stack/versions.env.
[private]
cargo-insta:
    #!/usr/bin/env bash
    set -euo pipefail
    source stack/versions.env
    if [ "$(cargo insta --version 2>/dev/null | cut -d' ' -f2)" != "$CARGO_INSTA_VERSION" ]; then
        cargo install --locked cargo-insta --version "$CARGO_INSTA_VERSION"
    fi

# Debian's Chromium, for opening run reports headless (installed when no Chromium or Chrome is there; root).
[private]
browser-deps:
    #!/usr/bin/env bash
    set -euo pipefail
    found=""
    for b in chromium chromium-browser google-chrome; do command -v "$b" >/dev/null && found="$b"; done
    if [ -z "${SECRETBENCH_CHROMIUM:-}" ] && [ -z "$found" ]; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
    fi

# Open a run's report.html in headless Chromium and check what it draws (default: the newest run).
report-check DIR="": browser-deps
    #!/usr/bin/env bash
    set -euo pipefail
    dir="{{DIR}}"
    if [ -z "$dir" ]; then
        # run-<unix seconds>: the names sort in time order, so the last is the newest.
        for d in artifacts/run-*/; do [ -f "$d/report.html" ] && dir="$d"; done
    fi
    if [ -z "$dir" ] || [ ! -f "$dir/report.html" ]; then
        echo "no report.html found: run \`just e2e\` first, or name the run's folder" >&2
        exit 1
    fi
    cargo run --quiet --locked -p secretbench-report-check -- "$dir"

# The same check on a made-up 60-case run, no cluster needed (written to the build cache).
report-check-fixture: browser-deps
    cargo run --quiet --locked -p secretbench-report-check -- --fixture "$CARGO_TARGET_DIR/report-fixture"

# Independent clients in Python (boto3, hvac, azure-keyvault-*) against the emulator binary.
conformance *ARGS:
    cargo build --locked -p secretbench-emulators --bin secretbench-emulators
    SECRETBENCH_EMULATORS_BIN="$CARGO_TARGET_DIR/debug/secretbench-emulators" conformance/python/run.sh {{ARGS}}

# The Vault emulator against real Vault: builds the pinned Vault server (`stack/build.sh vault`,
# cached by version), sends the differential suite's requests to a real dev server and to the
# emulator and compares every answer, then checks the `--vault real` wiring against the dev server.
vault-diff:
    stack/build.sh vault
    cargo test --locked -p secretbench --test vault_differential --test wiring_real_vault -- --include-ignored --nocapture

# rustfmt, clippy with warnings as errors, shellcheck, actionlint and `secretbench lint` of the scenarios.
lint: lint-tools
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    shellcheck -x .ci/run conformance/python/run.sh
    cd stack && shellcheck -x *.sh
    cargo run --quiet --locked -p secretbench -- lint scenarios harness/tests/isolation
    "$(go env GOPATH)/bin/actionlint" .github/workflows/*.yml
    test "$(just _backend --backend=kind)" = kind && test "$(just _backend --backend existing x)" = existing && test "$(just _backend scenarios/mount)" = host

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

# Emulator throughput, latency, cold start and memory, and the Vault emulator beside a real Vault
# dev server (built by `stack/build.sh vault`, cached); pass --check to fail on a missed target.
bench *ARGS:
    stack/build.sh vault
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

# Debian packages the host backend runs on (containerd, runc, CNI plugins, ...); installs missing ones (root).
host-deps:
    #!/usr/bin/env bash
    set -euo pipefail
    need=(containerd runc containernetworking-plugins jq openssl iptables iproute2)
    missing=()
    for p in "${need[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi

# Build the offline stack (cached), bring up the host cluster, run the driver smoke, tear down (root).
stack-smoke: host-deps
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --locked -p secretbench
    sb="$CARGO_TARGET_DIR/debug/secretbench"
    trap '"$sb" down' EXIT
    "$sb" up --backend host
    "$sb" smoke

# Brings up (or reuses) the cluster, wires the providers to the emulators, runs, prints the table
# and exits 1 if any case fails; the cluster stays up for the next run (`just down` removes it).
# Examples: `just e2e`, `just e2e --provider azure scenarios/mount`,
# `just e2e --backend kind --provider aws`.
# Every scenario for every provider on a cluster (default backend: host).
e2e *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ "$(just _backend {{ARGS}})" = host ]; then just host-deps; fi
    cargo build --locked -p secretbench
    "$CARGO_TARGET_DIR/debug/secretbench" e2e {{ARGS}}

# The backend a command line asks for (`--backend X`, `--backend=X`, else SECRETBENCH_BACKEND, else host).
[private]
_backend *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    backend="${SECRETBENCH_BACKEND:-host}"
    prev=""
    for a in {{ARGS}}; do
        case "$a" in --backend=*) backend="${a#--backend=}" ;; esac
        if [ "$prev" = --backend ]; then backend="$a"; fi
        prev="$a"
    done
    echo "$backend"

# The kind backend's install path against a local Helm repository, the API client against the
# cluster, and two concurrent cases kept apart by their tenants; `.ci/run` runs them after
# `just e2e`.
# Tests that need the host cluster up (root).
test-cluster:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --locked -p secretbench
    kubeconfig="$("$CARGO_TARGET_DIR/debug/secretbench" kubeconfig)"
    export SECRETBENCH_KUBECONFIG="${kubeconfig#KUBECONFIG=}"
    # The kubectl the harness itself runs on the host backend: the stack's.
    export SECRETBENCH_KUBECTL="${SECRETBENCH_KUBECTL:-$(stack/build.sh path kubernetes)/bin/kubectl}"
    cargo test --locked -p secretbench --test install_repo --test kube_api_cluster --test concurrent_isolation -- --ignored --nocapture
