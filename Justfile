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

# rustfmt and clippy with warnings as errors.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

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

# The end-to-end suite against a real cluster, driver and providers.
e2e:
    @echo "just e2e needs the host cluster backend (issue 5) and the scenario harness (issue 6), which are not built yet." >&2
    @echo "What exists today: the AWS emulator ('just emulators') and its conformance suite ('just test')." >&2
    @exit 2
