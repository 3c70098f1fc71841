//! Where the secretbench checkout is, found the way cargo finds a workspace: walk up from the
//! working directory to the first `Cargo.toml` with a `[workspace]` table. Commands that default
//! to `scenarios/` use it, so they work from any folder of the checkout; outside one they say so
//! (or use the working directory) instead of reaching for the checkout the binary was built from.

use std::path::{Component, Path, PathBuf};

/// The root of the secretbench checkout holding `dir`: the nearest ancestor whose `Cargo.toml`
/// declares `[workspace]`, when that workspace is secretbench's (it has `scenarios/` and
/// `harness/Cargo.toml`).
pub fn root_from(dir: &Path) -> Option<PathBuf> {
    let workspace = dir.ancestors().find(|a| {
        std::fs::read_to_string(a.join("Cargo.toml"))
            .is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"))
    })?;
    (workspace.join("scenarios").is_dir() && workspace.join("harness/Cargo.toml").is_file())
        .then(|| workspace.to_owned())
}

/// [`root_from`] the working directory.
pub fn root() -> Option<PathBuf> {
    std::env::current_dir().ok().and_then(|d| root_from(&d))
}

/// `path` as the user would type it from `cwd`: relative when both are under a common folder
/// (`../scenarios`), else absolute.
pub fn display_from(cwd: &Path, path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let cwd = std::path::absolute(cwd).unwrap_or_else(|_| cwd.to_owned());
    let common = path
        .components()
        .zip(cwd.components())
        .take_while(|(a, b)| a == b)
        .count();
    // Only the root in common: an absolute path reads better than a climb to `/`.
    if common <= 1 {
        return path;
    }
    let mut out = PathBuf::new();
    for c in cwd.components().skip(common) {
        if matches!(c, Component::Normal(_)) {
            out.push("..");
        }
    }
    for c in path.components().skip(common) {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The default scenario folder: the checkout's `scenarios/` shown relative to `cwd`, else
/// `scenarios` in `cwd`.
pub fn default_scenarios(cwd: &Path) -> PathBuf {
    match root_from(cwd) {
        Some(root) => display_from(cwd, &root.join("scenarios")),
        None => PathBuf::from("scenarios"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkout() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"harness\"]\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("harness/src")).unwrap();
        std::fs::write(root.join("harness/Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
        std::fs::create_dir_all(root.join("scenarios/mount")).unwrap();
        tmp
    }

    #[test]
    fn the_root_is_found_from_any_folder_of_the_checkout() {
        let tmp = checkout();
        let root = tmp.path();
        assert_eq!(root_from(root).as_deref(), Some(root));
        assert_eq!(root_from(&root.join("harness/src")).as_deref(), Some(root));
        assert_eq!(
            root_from(&root.join("scenarios/mount")).as_deref(),
            Some(root)
        );
        assert_eq!(
            default_scenarios(&root.join("harness")),
            PathBuf::from("../scenarios")
        );
        assert_eq!(default_scenarios(root), PathBuf::from("scenarios"));
    }

    #[test]
    fn another_workspace_is_not_a_checkout() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("Cargo.toml"), "[workspace]\n").unwrap();
        assert_eq!(root_from(tmp.path()), None);
        assert_eq!(default_scenarios(tmp.path()), PathBuf::from("scenarios"));
    }

    #[test]
    fn paths_are_shown_relative_when_they_share_a_folder() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(display_from(&p("/a/b/c"), &p("/a/x/y")), p("../../x/y"));
        assert_eq!(display_from(&p("/a/b"), &p("/a/b/c")), p("c"));
        assert_eq!(display_from(&p("/a/b"), &p("/a/b")), p("."));
        assert_eq!(display_from(&p("/a"), &p("/z/y")), p("/z/y"));
    }
}
