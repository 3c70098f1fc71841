//! What the emulator reports as Vault's version (`sys/health`, `sys/seal-status`, the
//! `running_plugin_version` of built-in mounts) is the real Vault pinned in `stack/versions.env`
//! (`VAULT_VERSION`), the one the differential suite compares it with; the KV and Kubernetes
//! plugin versions are the ones that Vault builds in, as its module graph in `stack/vault/go.mod`
//! (generated from that pin by `stack/build.sh mods`) records them. One pin, read at build time.

use std::path::Path;

fn read(name: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stack")
        .join(name);
    println!("cargo::rerun-if-changed={}", file.display());
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()))
}

/// The version of `module` in a go.mod `require` line (`\tmodule vX.Y.Z // indirect`).
fn required(gomod: &str, module: &str) -> String {
    gomod
        .lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(module)).then(|| words.next().map(str::to_owned))?
        })
        .unwrap_or_else(|| panic!("stack/vault/go.mod does not require {module}"))
}

fn main() {
    let versions = read("versions.env");
    let vault = versions
        .lines()
        .find_map(|l| l.trim().strip_prefix("VAULT_VERSION="))
        .unwrap_or_else(|| panic!("stack/versions.env has no VAULT_VERSION"))
        .trim()
        .to_owned();
    let gomod = read("vault/go.mod");
    // Vault reports versions without the `v` of the Go module tag (`1.21.1`).
    println!(
        "cargo::rustc-env=SECRETBENCH_VAULT_VERSION={}",
        vault.trim_start_matches('v')
    );
    println!(
        "cargo::rustc-env=SECRETBENCH_VAULT_KV_PLUGIN={}",
        required(&gomod, "github.com/hashicorp/vault-plugin-secrets-kv")
    );
    println!(
        "cargo::rustc-env=SECRETBENCH_VAULT_K8S_PLUGIN={}",
        required(&gomod, "github.com/hashicorp/vault-plugin-auth-kubernetes")
    );
}
