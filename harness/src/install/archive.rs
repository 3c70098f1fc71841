//! What is inside a bundle's files: image archives (OCI image layout as `ctr images export`,
//! `skopeo copy ... oci-archive:` and `docker save` since 25 write it; docker-archive as older
//! `docker save` writes it) and Helm charts (folders, or `.tgz` as `helm pull` writes them),
//! each plain or gzip-compressed. Only the metadata is read; layers are skipped.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::image_ref::{names_a_repository, normalize};

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

fn invalid(path: &Path, message: impl Into<String>) -> ArchiveError {
    ArchiveError::Invalid {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// An image archive's names and manifest digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageArchive {
    pub path: PathBuf,
    pub format: ImageFormat,
    /// Normalised references the archive names (`docker.io/...`).
    pub references: Vec<String>,
    /// Names that cannot be used as a reference (a bare tag).
    pub unnamed: Vec<String>,
    /// The manifest digest (OCI layout only: a docker-archive has none until imported).
    pub digest: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Oci,
    DockerArchive,
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImageFormat::Oci => "OCI image layout",
            ImageFormat::DockerArchive => "docker-archive",
        })
    }
}

/// `Chart.yaml`, the fields the bench uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChartMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default, rename = "apiVersion")]
    pub api_version: String,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// Names of the subcharts present under `charts/` (filled in by the reader).
    #[serde(skip)]
    pub packaged: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Dependency {
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub condition: String,
}

impl ChartMeta {
    /// Dependencies whose chart is not packaged under `charts/`.
    pub fn missing_dependencies(&self) -> Vec<&Dependency> {
        self.dependencies
            .iter()
            .filter(|d| !self.packaged.contains(&d.name))
            .collect()
    }
}

/// What a bundle file turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Image(ImageArchive),
    Chart(ChartMeta),
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

fn open(path: &Path) -> Result<Box<dyn Read>, ArchiveError> {
    let io = |source| ArchiveError::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    let f = std::fs::File::open(path).map_err(io)?;
    let reader = std::io::BufReader::with_capacity(1 << 20, f);
    Ok(if n == 2 && magic == GZIP_MAGIC {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    })
}

/// Reads a tar (or tar.gz) file and tells what it holds.
pub fn read_file(path: &Path) -> Result<Content, ArchiveError> {
    let mut entries = Entries::default();
    let mut archive = tar::Archive::new(open(path)?);
    let bad = |e: std::io::Error| {
        invalid(
            path,
            format!(
                "not a readable tar archive ({e}); re-create it with `docker save`, `ctr images export`, `skopeo copy` or `helm pull`"
            ),
        )
    };
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let name = name.trim_start_matches("./").to_owned();
        let wanted = matches!(name.as_str(), "index.json" | "manifest.json" | "oci-layout")
            || is_chart_file(&name);
        if wanted {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(bad)?;
            entries.files.push((name, data));
        }
    }
    entries.classify(path)
}

/// Reads a chart folder (a folder with `Chart.yaml`).
pub fn read_chart_dir(dir: &Path) -> Result<ChartMeta, ArchiveError> {
    let file = dir.join("Chart.yaml");
    let text = std::fs::read_to_string(&file).map_err(|source| ArchiveError::Io {
        path: file.clone(),
        source,
    })?;
    let mut meta = parse_chart_yaml(&file, &text)?;
    let sub = dir.join("charts");
    if let Ok(rd) = std::fs::read_dir(&sub) {
        for e in rd.flatten() {
            let p = e.path();
            if p.join("Chart.yaml").is_file() {
                if let Ok(m) = read_chart_dir(&p) {
                    meta.packaged.push(m.name);
                }
            } else if p.is_file()
                && let Ok(Content::Chart(m)) = read_file(&p)
            {
                meta.packaged.push(m.name);
            }
        }
    }
    Ok(meta)
}

/// `<chart>/Chart.yaml`, `<chart>/charts/<sub>/Chart.yaml` or `<chart>/charts/<sub>.tgz`.
fn is_chart_file(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        [_, "Chart.yaml"] => true,
        [_, "charts", _, "Chart.yaml"] => true,
        [_, "charts", f] => f.ends_with(".tgz"),
        _ => false,
    }
}

fn parse_chart_yaml(path: &Path, text: &str) -> Result<ChartMeta, ArchiveError> {
    let meta: ChartMeta = serde_saphyr::from_str(text)
        .map_err(|e| invalid(path, format!("Chart.yaml is not valid YAML: {e}")))?;
    if meta.name.trim().is_empty() || meta.version.trim().is_empty() {
        return Err(invalid(
            path,
            "Chart.yaml has no name or no version: not a Helm chart",
        ));
    }
    Ok(meta)
}

#[derive(Default)]
struct Entries {
    files: Vec<(String, Vec<u8>)>,
}

impl Entries {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_slice())
    }

    fn classify(self, path: &Path) -> Result<Content, ArchiveError> {
        let index = self.get("index.json");
        let manifest = self.get("manifest.json");
        if index.is_some() || manifest.is_some() {
            return image(path, index, manifest).map(Content::Image);
        }
        let top: Vec<&(String, Vec<u8>)> = self
            .files
            .iter()
            .filter(|(n, _)| n.split('/').count() == 2 && n.ends_with("/Chart.yaml"))
            .collect();
        match top.as_slice() {
            [(name, data)] => {
                let root = name.trim_end_matches("/Chart.yaml");
                let text = String::from_utf8_lossy(data);
                let mut meta = parse_chart_yaml(&path.join(name), &text)?;
                for (n, d) in &self.files {
                    let Some(rest) = n.strip_prefix(&format!("{root}/charts/")) else {
                        continue;
                    };
                    if rest.ends_with("/Chart.yaml") {
                        if let Ok(m) = parse_chart_yaml(&path.join(n), &String::from_utf8_lossy(d))
                        {
                            meta.packaged.push(m.name);
                        }
                    } else if rest.ends_with(".tgz")
                        && let Some(sub) = nested_chart_name(d)
                    {
                        meta.packaged.push(sub);
                    }
                }
                Ok(Content::Chart(meta))
            }
            [] => Err(invalid(
                path,
                "neither an image archive (no index.json or manifest.json) nor a Helm chart \
                 (no <chart>/Chart.yaml)",
            )),
            _ => Err(invalid(path, "holds more than one chart at its top level")),
        }
    }
}

/// The chart name in a subchart `.tgz` packaged inside a chart.
fn nested_chart_name(tgz: &[u8]) -> Option<String> {
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    for e in a.entries().ok()? {
        let mut e = e.ok()?;
        let name = e.path().ok()?.to_string_lossy().into_owned();
        if name.split('/').count() == 2 && name.ends_with("/Chart.yaml") {
            let mut text = String::new();
            e.read_to_string(&mut text).ok()?;
            return parse_chart_yaml(Path::new(&name), &text)
                .ok()
                .map(|m| m.name);
        }
    }
    None
}

fn image(
    path: &Path,
    index: Option<&[u8]>,
    manifest: Option<&[u8]>,
) -> Result<ImageArchive, ArchiveError> {
    let mut references = Vec::new();
    let mut unnamed = Vec::new();
    let mut digest = None;
    let mut format = ImageFormat::DockerArchive;
    if let Some(index) = index {
        format = ImageFormat::Oci;
        let v: serde_json::Value = serde_json::from_slice(index)
            .map_err(|e| invalid(path, format!("index.json is not JSON: {e}")))?;
        let manifests = v["manifests"]
            .as_array()
            .ok_or_else(|| invalid(path, "index.json has no manifests"))?;
        for m in manifests {
            digest = digest.or_else(|| m["digest"].as_str().map(str::to_owned));
            let a = &m["annotations"];
            let containerd = a["io.containerd.image.name"].as_str();
            let oci = a["org.opencontainers.image.ref.name"].as_str();
            match (containerd, oci) {
                (Some(n), _) => references.push(normalize(n)),
                (None, Some(n)) if names_a_repository(n) => references.push(normalize(n)),
                (None, Some(n)) => unnamed.push(n.to_owned()),
                (None, None) => {}
            }
        }
    }
    if let Some(manifest) = manifest {
        let v: serde_json::Value = serde_json::from_slice(manifest)
            .map_err(|e| invalid(path, format!("manifest.json is not JSON: {e}")))?;
        for m in v.as_array().into_iter().flatten() {
            for t in m["RepoTags"].as_array().into_iter().flatten() {
                if let Some(t) = t.as_str() {
                    references.push(normalize(t));
                }
            }
        }
    }
    references.sort();
    references.dedup();
    Ok(ImageArchive {
        path: path.to_owned(),
        format,
        references,
        unnamed,
        digest,
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Writes a tar (gzip-compressed when `gz`) with these files.
    pub fn write_tar(path: &Path, files: &[(&str, &[u8])], gz: bool) {
        let f = std::fs::File::create(path).unwrap();
        let w: Box<dyn std::io::Write> = if gz {
            Box::new(flate2::write::GzEncoder::new(
                f,
                flate2::Compression::fast(),
            ))
        } else {
            Box::new(f)
        };
        let mut b = tar::Builder::new(w);
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap().flush().unwrap();
    }

    use std::io::Write as _;

    pub fn oci_index(annotations: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:abc","size":1,"annotations":{annotations}}}]}}"#
        )
    }

    #[test]
    fn reads_oci_layouts_docker_archives_and_charts() {
        let t = tempfile::tempdir().unwrap();
        let oci = t.path().join("a.tar");
        write_tar(
            &oci,
            &[
                ("oci-layout", b"{}"),
                ("blobs/sha256/abc", b"x"),
                (
                    "index.json",
                    oci_index(r#"{"io.containerd.image.name":"public.ecr.aws/a/b:3.1.1"}"#)
                        .as_bytes(),
                ),
            ],
            false,
        );
        let Content::Image(i) = read_file(&oci).unwrap() else {
            panic!()
        };
        assert_eq!(i.format, ImageFormat::Oci);
        assert_eq!(i.references, ["public.ecr.aws/a/b:3.1.1"]);
        assert_eq!(i.digest.as_deref(), Some("sha256:abc"));

        // skopeo's oci-archive with only a tag: named nothing usable.
        let tag_only = t.path().join("b.tar.gz");
        write_tar(
            &tag_only,
            &[(
                "index.json",
                oci_index(r#"{"org.opencontainers.image.ref.name":"1.7.4"}"#).as_bytes(),
            )],
            true,
        );
        let Content::Image(i) = read_file(&tag_only).unwrap() else {
            panic!()
        };
        assert!(i.references.is_empty());
        assert_eq!(i.unnamed, ["1.7.4"]);

        let docker = t.path().join("c.tar");
        write_tar(
            &docker,
            &[(
                "manifest.json",
                br#"[{"Config":"x.json","RepoTags":["hashicorp/vault-csi-provider:1.7.4"],"Layers":[]}]"#,
            )],
            false,
        );
        let Content::Image(i) = read_file(&docker).unwrap() else {
            panic!()
        };
        assert_eq!(i.format, ImageFormat::DockerArchive);
        assert_eq!(
            i.references,
            ["docker.io/hashicorp/vault-csi-provider:1.7.4"]
        );
        assert_eq!(i.digest, None);

        let chart = t.path().join("vault-0.34.1.tgz");
        write_tar(
            &chart,
            &[
                (
                    "vault/Chart.yaml",
                    b"apiVersion: v2\nname: vault\nversion: 0.34.1\n",
                ),
                ("vault/values.yaml", b"{}"),
            ],
            true,
        );
        let Content::Chart(c) = read_file(&chart).unwrap() else {
            panic!()
        };
        assert_eq!((c.name.as_str(), c.version.as_str()), ("vault", "0.34.1"));
        assert!(c.missing_dependencies().is_empty());
    }

    #[test]
    fn sees_packaged_and_missing_dependencies() {
        let t = tempfile::tempdir().unwrap();
        let sub = t.path().join("sub.tgz");
        write_tar(
            &sub,
            &[(
                "secrets-store-csi-driver/Chart.yaml",
                b"name: secrets-store-csi-driver\nversion: 1.6.0\n",
            )],
            true,
        );
        let sub_bytes = std::fs::read(&sub).unwrap();
        let deps = b"name: p\nversion: 1.0.0\ndependencies:\n- name: secrets-store-csi-driver\n  version: ^1\n  condition: secrets-store-csi-driver.install\n";
        let with = t.path().join("with.tgz");
        write_tar(
            &with,
            &[
                ("p/Chart.yaml", deps),
                ("p/charts/secrets-store-csi-driver-1.6.0.tgz", &sub_bytes),
            ],
            true,
        );
        let Content::Chart(c) = read_file(&with).unwrap() else {
            panic!()
        };
        assert_eq!(c.packaged, ["secrets-store-csi-driver"]);
        assert!(c.missing_dependencies().is_empty());

        let dir = t.path().join("p");
        std::fs::create_dir_all(dir.join("charts")).unwrap();
        std::fs::write(dir.join("Chart.yaml"), deps).unwrap();
        let c = read_chart_dir(&dir).unwrap();
        assert_eq!(c.missing_dependencies().len(), 1);
        std::fs::write(dir.join("charts/d.tgz"), &sub_bytes).unwrap();
        assert!(
            read_chart_dir(&dir)
                .unwrap()
                .missing_dependencies()
                .is_empty()
        );
    }

    #[test]
    fn refuses_what_is_neither() {
        let t = tempfile::tempdir().unwrap();
        let junk = t.path().join("junk.tar");
        std::fs::write(&junk, b"this is not a tar file at all, just text").unwrap();
        let e = read_file(&junk).unwrap_err().to_string();
        assert!(e.contains("junk.tar"), "{e}");

        let other = t.path().join("other.tar");
        write_tar(&other, &[("README", b"hi")], false);
        let e = read_file(&other).unwrap_err().to_string();
        assert!(e.contains("neither an image archive"), "{e}");

        let nameless = t.path().join("nameless.tgz");
        write_tar(
            &nameless,
            &[("x/Chart.yaml", b"description: no name\n")],
            true,
        );
        let e = read_file(&nameless).unwrap_err().to_string();
        assert!(e.contains("not a Helm chart"), "{e}");

        let truncated = t.path().join("trunc.tar.gz");
        let full = t.path().join("full.tar.gz");
        write_tar(&full, &[("index.json", &[b'x'; 4096])], true);
        let bytes = std::fs::read(&full).unwrap();
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read_file(&truncated).is_err());
    }
}
