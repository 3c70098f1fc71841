//! Image references as containerd and Docker resolve them, so that `hashicorp/x:1` in a
//! `docker save` archive and `docker.io/hashicorp/x:1` in a chart are the same image.

/// `docker.io/library/...` for official images, `docker.io/...` for other names without a
/// registry, `:latest` when neither tag nor digest is given (distribution/reference's
/// `ParseNormalizedNamed` + `TagNameOnly`).
pub fn normalize(reference: &str) -> String {
    let reference = reference.trim();
    let (name_tag, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    // A tag is after the last ':' that comes after the last '/' (a registry port has a '/' after it).
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest.to_owned())
        }
        _ => ("docker.io", name.to_owned()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let mut out = format!("{domain}/{path}");
    match (tag, digest) {
        (Some(t), _) => {
            out.push(':');
            out.push_str(t);
        }
        (None, None) => out.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(d);
    }
    out
}

/// The repository part of a normalised reference (no tag, no digest).
pub fn repository(normalized: &str) -> &str {
    let no_digest = normalized.split('@').next().unwrap_or(normalized);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest[last_slash..].rfind(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    }
}

/// Whether a string can stand as an image name with its repository (not only a tag, as
/// `skopeo copy ... oci-archive:FILE:TAG` may write).
pub fn names_a_repository(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.contains('/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_as_docker_does() {
        for (given, want) in [
            (
                "hashicorp/vault-csi-provider:1.7.4",
                "docker.io/hashicorp/vault-csi-provider:1.7.4",
            ),
            ("busybox", "docker.io/library/busybox:latest"),
            ("index.docker.io/x/y:1", "docker.io/x/y:1"),
            (
                "registry.k8s.io/pause:3.10.1",
                "registry.k8s.io/pause:3.10.1",
            ),
            ("localhost:5000/a/b:v1", "localhost:5000/a/b:v1"),
            ("localhost/secretbench/x:v1", "localhost/secretbench/x:v1"),
            (
                "public.ecr.aws/a/b@sha256:00",
                "public.ecr.aws/a/b@sha256:00",
            ),
            ("a/b:1@sha256:00", "docker.io/a/b:1@sha256:00"),
        ] {
            assert_eq!(normalize(given), want, "{given}");
        }
    }

    #[test]
    fn repository_and_naming() {
        assert_eq!(repository("localhost:5000/a/b:v1"), "localhost:5000/a/b");
        assert_eq!(repository("docker.io/a/b@sha256:00"), "docker.io/a/b");
        assert_eq!(repository("docker.io/a/b"), "docker.io/a/b");
        assert!(names_a_repository("hashicorp/vault-csi-provider:1.7.4"));
        assert!(!names_a_repository("1.7.4"));
        assert!(!names_a_repository("latest"));
        assert!(!names_a_repository("a b/c"));
    }
}
