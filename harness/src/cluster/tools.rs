//! Programs the kind and existing backends take from PATH (kind, helm, kubectl, docker), found
//! before anything runs so that a missing one is reported by name with how to install it,
//! instead of as a failed spawn halfway through `up`.

use std::ffi::OsStr;
use std::path::PathBuf;

/// The first executable file called `name` in the directories of `path` (a `PATH` value).
pub fn find_in_path(name: &str, path: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// [`find_in_path`] on this process's `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    find_in_path(name, &path)
}

/// The version in `kind version` output (`kind v0.32.0 go1.26.8 linux/amd64`).
pub fn parse_kind_version(out: &str) -> Option<&str> {
    out.split_whitespace().find(|w| {
        w.strip_prefix('v')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// The version in `helm version --short` output (`v3.22.0+g1a2b3c4`), without the build
/// suffix.
pub fn parse_helm_version(out: &str) -> Option<&str> {
    let word = out.split_whitespace().next()?;
    let version = word.split('+').next()?;
    version.starts_with('v').then_some(version)
}

/// `v1.35.5`, `1.35` → (1, 35, Some(5)), (1, 35, None).
pub fn parse_version(s: &str) -> Option<(u32, u32, Option<u32>)> {
    let s = s.trim();
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut parts = s.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = match parts.next() {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

/// Whether a tool reports the pinned release, comparing as Helm's semver library does: a
/// missing patch is 0 and build metadata (`+g1a2b3c4`) does not count. A helm built with
/// `go install` but without the release's `-ldflags` reports only `v3.22` (the default in
/// helm's `internal/version/version.go`), which is the same as `v3.22.0`.
pub fn same_release(found: &str, pinned: &str) -> bool {
    let norm = |v: &str| {
        let v = v.split('+').next().unwrap_or(v);
        parse_version(v).map(|(a, b, c)| (a, b, c.unwrap_or(0)))
    };
    matches!((norm(found), norm(pinned)), (Some(f), Some(p)) if f == p)
}

/// `go install` of helm at `version` as its release build is made (helm's Makefile sets the
/// version with `-ldflags`; CI's e2e job runs the same command).
pub fn helm_install_command(version: &str) -> String {
    format!(
        "go install -ldflags \"-X helm.sh/helm/v3/internal/version.version={version} \
         -X helm.sh/helm/v3/internal/version.gitTreeState=clean\" helm.sh/helm/v3/cmd/helm@{version}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn finds_only_executable_files() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let plain = a.path().join("kind");
        std::fs::write(&plain, "").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::create_dir(a.path().join("helm")).unwrap();
        let exe = b.path().join("kind");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();

        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        assert_eq!(find_in_path("kind", &path), Some(exe));
        assert_eq!(
            find_in_path("helm", &path),
            None,
            "a directory is not a program"
        );
        assert_eq!(find_in_path("kubectl", &path), None);
        assert_eq!(find_in_path("kind", OsStr::new("")), None);
    }

    #[test]
    fn parses_tool_versions() {
        assert_eq!(
            parse_kind_version("kind v0.32.0 go1.26.8 linux/amd64\n"),
            Some("v0.32.0")
        );
        assert_eq!(parse_kind_version("something else"), None);
        assert_eq!(parse_helm_version("v3.22.0+g1a2b3c4\n"), Some("v3.22.0"));
        assert_eq!(parse_helm_version("v3.22.0\n"), Some("v3.22.0"));
        assert_eq!(parse_helm_version(""), None);
        assert_eq!(parse_helm_version("3.22.0"), None);
        assert_eq!(parse_version("v1.35.5"), Some((1, 35, Some(5))));
        assert_eq!(parse_version("1.34"), Some((1, 34, None)));
        assert_eq!(parse_version(" v1.34 "), Some((1, 34, None)));
        assert_eq!(parse_version("v1"), None);
        assert_eq!(parse_version("v1.34.x"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
        assert_eq!(parse_version("latest"), None);
    }

    #[test]
    fn versions_compare_as_helm_compares_them() {
        // `go install helm.sh/helm/v3/cmd/helm@v3.22.0` without ldflags says `v3.22`.
        let unflagged = parse_helm_version("v3.22\n").unwrap();
        assert!(same_release(unflagged, "v3.22.0"));
        assert!(same_release("v3.22.0+g1a2b3c4", "v3.22.0"));
        assert!(same_release("v0.32.0", "v0.32.0"));
        assert!(!same_release("v3.22.1", "v3.22.0"));
        assert!(!same_release("v3.21", "v3.22.0"));
        assert!(!same_release("v3.22.0-rc.1", "v3.22.0"));
        assert!(!same_release("unknown", "v3.22.0"));
        let cmd = helm_install_command("v3.22.0");
        assert!(
            cmd.starts_with(
                "go install -ldflags \"-X helm.sh/helm/v3/internal/version.version=v3.22.0 "
            ),
            "{cmd}"
        );
        assert!(cmd.ends_with(" helm.sh/helm/v3/cmd/helm@v3.22.0"), "{cmd}");
    }
}
