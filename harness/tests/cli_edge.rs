#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The command line's edge, run as a user runs it: a user's mistake prints an error chain and
//! exits 1 without a backtrace (even with RUST_BACKTRACE=1), and the commands that default to
//! the checkout's `scenarios/` work from any folder of it, or sensibly outside it.

use std::path::Path;
use std::process::{Command, Output};

fn secretbench(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secretbench"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_BACKTRACE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn checkout() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn a_users_mistake_is_an_error_chain_without_backtrace() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let first = secretbench(checkout(), &["repro", "new", "my-bug", "--dir", dir]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let again = secretbench(checkout(), &["repro", "new", "my-bug", "--dir", dir]);
    assert_eq!(again.status.code(), Some(1));
    let err = text(&again.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert!(!err.to_lowercase().contains("backtrace"), "{err}");
    assert!(err.lines().count() <= 3, "{err}");
}

#[test]
fn lint_defaults_to_the_checkouts_scenarios_from_any_folder() {
    let harness = checkout().join("harness");
    let out = secretbench(&harness, &["lint"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("ok   ../scenarios/mount/scenario.yaml"),
        "{stdout}"
    );

    let broken = harness.join("tests/lint_fixtures/wait-condition-typo");
    let out = secretbench(checkout(), &["lint", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("did you mean `Ready`?"));
    assert_eq!(text(&out.stderr), "error: lint found 1 problem(s)\n");
}

#[test]
fn repro_new_outside_a_checkout_writes_here_and_says_where() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_secretbench"))
        .args(["repro", "new", "my-bug", "--provider", "aws"])
        .current_dir(tmp.path())
        .env("SECRETBENCH_STACK_DIR", checkout().join("stack"))
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let folder = tmp.path().join("my-bug");
    assert!(folder.join("scenario.yaml").is_file());
    assert!(stdout.starts_with("created my-bug/"), "{stdout}");
    let absolute = folder.canonicalize().unwrap();
    assert!(
        stdout.contains(&absolute.display().to_string())
            || stdout.contains(&folder.display().to_string()),
        "{stdout}"
    );
    assert!(stdout.contains("secretbench lint my-bug"), "{stdout}");
}

#[test]
fn repro_new_inside_a_checkout_goes_to_its_scenarios_repro() {
    // A checkout of its own, so the real scenarios/repro stays untouched.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"harness\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("harness/src")).unwrap();
    std::fs::write(root.join("harness/Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    std::fs::create_dir_all(root.join("scenarios")).unwrap();
    std::fs::create_dir_all(root.join("stack")).unwrap();
    std::fs::copy(
        checkout().join("stack/versions.env"),
        root.join("stack/versions.env"),
    )
    .unwrap();
    let out = secretbench(&root.join("harness/src"), &["repro", "new", "my-bug"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(root.join("scenarios/repro/my-bug/scenario.yaml").is_file());
    assert!(
        stdout.starts_with("created ../../scenarios/repro/my-bug/"),
        "{stdout}"
    );
    let readme = std::fs::read_to_string(root.join("scenarios/repro/my-bug/README.md")).unwrap();
    assert!(
        readme.contains("secretbench lint scenarios/repro/my-bug"),
        "{readme}"
    );
}
