//! The container runtime kind runs its node on, asked the way kind asks it
//! (`pkg/cluster/internal/providers/{docker,podman}` in kubernetes-sigs/kind v0.32.0):
//!
//! - which one: `KIND_EXPERIMENTAL_PROVIDER` (`docker` or `podman`), else the first available
//!   of Docker (`docker -v` says `Docker version`) and Podman (`podman -v` says `podman
//!   version`), as `DetectNodeProvider` does (`pkg/cluster/provider.go`); a `docker` that is
//!   Podman's shim (`podman-docker`) is Podman;
//! - what kind of setup: `docker info --format '{{json .}}'` (`OperatingSystem` is `Docker
//!   Desktop` on Docker Desktop for macOS, Windows and Linux; `SecurityOptions` holds
//!   `name=rootless` under rootless Docker, which is how kind's `info()` reads it), or `podman
//!   info --format json` (`host.security.rootless`);
//! - its network: `kind` unless `KIND_EXPERIMENTAL_DOCKER_NETWORK` /
//!   `KIND_EXPERIMENTAL_PODMAN_NETWORK` says otherwise; its gateway from `docker network
//!   inspect` (`IPAM.Config[]`) or `podman network inspect` (`subnets[]` since Podman 4,
//!   `plugins[].ipam.ranges[][]` for CNI networks, as kind's `getSubnets` reads them);
//! - the node container: `inspect --format '{{.Id}} {{.State.Status}}'`, `start`, and names
//!   resolved inside it with `exec NODE getent ahostsv4 NAME` (the node image is Debian).

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{Cmd, CmdError};

/// kind's own choice of runtime.
pub const ENV_PROVIDER: &str = "KIND_EXPERIMENTAL_PROVIDER";
pub const ENV_DOCKER_NETWORK: &str = "KIND_EXPERIMENTAL_DOCKER_NETWORK";
pub const ENV_PODMAN_NETWORK: &str = "KIND_EXPERIMENTAL_PODMAN_NETWORK";
const DEFAULT_NETWORK: &str = "kind";

const QUICK: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Docker,
    Podman,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Docker => "docker",
            Kind::Podman => "podman",
        }
    }

    pub fn network_env(self) -> &'static str {
        match self {
            Kind::Docker => ENV_DOCKER_NETWORK,
            Kind::Podman => ENV_PODMAN_NETWORK,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `KIND_EXPERIMENTAL_PROVIDER` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Requested {
    /// Unset: detect, as kind does.
    #[default]
    Detect,
    One(Kind),
    /// A provider kind knows but the bench does not drive (`nerdctl`), or a typo.
    Other(String),
}

impl Requested {
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim).unwrap_or("") {
            "" => Requested::Detect,
            "docker" => Requested::One(Kind::Docker),
            "podman" => Requested::One(Kind::Podman),
            other => Requested::Other(other.to_owned()),
        }
    }
}

/// How the runtime's network relates to this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setup {
    /// Linux, rootful Docker or Podman: the kind network is a bridge of this machine.
    Rootful,
    /// Docker Desktop: the engine and its networks run in a VM.
    DockerDesktop,
    /// Rootless Docker or Podman: the networks live in RootlessKit's (Podman's) namespace,
    /// this machine is reached through slirp4netns, pasta or vpnkit.
    Rootless,
}

impl Setup {
    pub fn describe(self, kind: Kind) -> &'static str {
        match (self, kind) {
            (Setup::Rootful, Kind::Docker) => "Docker (rootful, Linux)",
            (Setup::Rootful, Kind::Podman) => "Podman (rootful, Linux)",
            (Setup::DockerDesktop, _) => "Docker Desktop",
            (Setup::Rootless, Kind::Docker) => "rootless Docker",
            (Setup::Rootless, Kind::Podman) => "rootless Podman",
        }
    }
}

/// The setup from `docker info --format '{{json .}}'`.
pub fn docker_setup(info_json: &str) -> Result<Setup, String> {
    let v: serde_json::Value =
        serde_json::from_str(info_json.trim()).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("OperatingSystem").and_then(|o| o.as_str()) == Some("Docker Desktop") {
        return Ok(Setup::DockerDesktop);
    }
    // Entries are comma-separated fields ("name=seccomp,profile=builtin", "name=rootless").
    let rootless = v
        .get("SecurityOptions")
        .and_then(|o| o.as_array())
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_str())
        .any(|o| o.split(',').any(|f| f.trim() == "name=rootless"));
    Ok(if rootless {
        Setup::Rootless
    } else {
        Setup::Rootful
    })
}

/// The setup from `podman info --format json`.
pub fn podman_setup(info_json: &str) -> Result<Setup, String> {
    let v: serde_json::Value =
        serde_json::from_str(info_json.trim()).map_err(|e| format!("not JSON: {e}"))?;
    let rootless = v
        .pointer("/host/security/rootless")
        .and_then(|r| r.as_bool())
        .ok_or("no host.security.rootless")?;
    Ok(if rootless {
        Setup::Rootless
    } else {
        Setup::Rootful
    })
}

/// The network kind puts its nodes on: `kind`, or the override kind reads for this runtime.
pub fn network_name(env_override: Option<&str>) -> String {
    env_override
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_NETWORK)
        .to_owned()
}

/// A network's IPv4 gateway and subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub gateway: Ipv4Addr,
    /// `172.18.0.0/16`, for messages (firewall rules name it).
    pub subnet: Option<String>,
}

/// The IPv4 gateway of a network from `docker network inspect` output.
///
/// Docker does not always fill `IPAM.Config[].Gateway`: it is missing when the daemon picked
/// the address itself on some versions (moby#26799), empty on others (moby#51890), and was once
/// given in CIDR form (moby#26522). The bridge's default gateway is the subnet's first address,
/// so that is the fallback.
pub fn docker_network(inspect_json: &str) -> Result<Network, String> {
    let v: serde_json::Value = serde_json::from_str(inspect_json)
        .map_err(|e| format!("unreadable inspect output: {e}"))?;
    let configs = v
        .get(0)
        .and_then(|n| n.pointer("/IPAM/Config"))
        .and_then(serde_json::Value::as_array)
        .ok_or("no IPAM.Config in the inspect output")?;
    ipv4_network(
        configs
            .iter()
            .map(|c| (field(c, "Gateway"), field(c, "Subnet"))),
    )
    .ok_or_else(|| "no IPv4 gateway or subnet in IPAM.Config".to_owned())
}

/// The IPv4 gateway of a network from `podman network inspect` output: `subnets[]` (netavark,
/// Podman 4 and later) or the CNI config's `plugins[].ipam.ranges[][]` (Podman 3).
pub fn podman_network(inspect_json: &str) -> Result<Network, String> {
    let v: serde_json::Value = serde_json::from_str(inspect_json)
        .map_err(|e| format!("unreadable inspect output: {e}"))?;
    let net = v.get(0).ok_or("no network in the inspect output")?;
    let mut pairs = Vec::new();
    for s in net
        .get("subnets")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
    {
        pairs.push((field(s, "gateway"), field(s, "subnet")));
    }
    for plugin in net
        .get("plugins")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
    {
        let ranges = plugin.pointer("/ipam/ranges").and_then(|r| r.as_array());
        for r in ranges.into_iter().flatten().filter_map(|r| r.as_array()) {
            for rr in r {
                pairs.push((field(rr, "gateway"), field(rr, "subnet")));
            }
        }
    }
    ipv4_network(pairs).ok_or_else(|| "no IPv4 gateway or subnet in subnets[]".to_owned())
}

fn field(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The first IPv4 (gateway, subnet) pair; a missing gateway is the subnet's first address.
fn ipv4_network(
    pairs: impl IntoIterator<Item = (Option<String>, Option<String>)>,
) -> Option<Network> {
    let pairs: Vec<_> = pairs.into_iter().collect();
    let v4_subnet = |s: &Option<String>| {
        s.as_deref()
            .filter(|s| {
                s.split('/')
                    .next()
                    .is_some_and(|a| a.parse::<Ipv4Addr>().is_ok())
            })
            .map(str::to_owned)
    };
    let gateway = pairs.iter().find_map(|(gw, subnet)| {
        let addr = gw.as_deref()?.split('/').next()?;
        let gateway = addr.parse::<Ipv4Addr>().ok()?;
        Some(Network {
            gateway,
            subnet: v4_subnet(subnet),
        })
    });
    gateway.or_else(|| {
        pairs.iter().find_map(|(_, subnet)| {
            let s = subnet.as_deref()?;
            Some(Network {
                gateway: first_host(s)?,
                subnet: Some(s.to_owned()),
            })
        })
    })
}

/// The first host address of an IPv4 CIDR (`172.18.0.0/16` → `172.18.0.1`).
pub fn first_host(cidr: &str) -> Option<Ipv4Addr> {
    let (addr, bits) = cidr.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    if bits > 30 {
        return None;
    }
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    Some(Ipv4Addr::from((u32::from(addr) & mask) + 1))
}

/// The node container's id and state, from `inspect --format '{{.Id}} {{.State.Status}}'`
/// (the same template on Docker and Podman).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    /// `running`, `exited`, `created`, `paused` ...
    pub status: String,
}

impl Container {
    pub fn parse(out: &str) -> Option<Self> {
        let mut words = out.split_whitespace();
        Some(Self {
            id: words.next()?.to_owned(),
            status: words.next()?.to_owned(),
        })
    }

    pub fn running(&self) -> bool {
        self.status == "running"
    }
}

/// The first IPv4 address of `getent ahostsv4 NAME` output
/// (`192.168.65.254  STREAM host.docker.internal`).
pub fn first_ipv4(getent: &str) -> Option<Ipv4Addr> {
    getent
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .find_map(|w| w.parse().ok())
}

/// The runtime program, found on the search path.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub kind: Kind,
    pub program: PathBuf,
    /// The network override the environment gives kind for this runtime.
    pub network_override: Option<String>,
}

impl Runtime {
    fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Cmd::new(&self.program).args(args).timeout(QUICK)
    }

    pub fn network(&self) -> String {
        network_name(self.network_override.as_deref())
    }

    /// `docker info` / `podman info`, read into a [`Setup`].
    pub async fn setup(&self) -> Result<Setup, RuntimeError> {
        let format = match self.kind {
            Kind::Docker => "{{json .}}",
            Kind::Podman => "json",
        };
        let out = self.cmd(["info", "--format", format]).output().await?;
        let parsed = match self.kind {
            Kind::Docker => docker_setup(&out),
            Kind::Podman => podman_setup(&out),
        };
        parsed.map_err(|message| RuntimeError::Output {
            command: format!("{} info", self.kind),
            message,
        })
    }

    /// The gateway and subnet of kind's network.
    pub async fn inspect_network(&self) -> Result<Network, RuntimeError> {
        let network = self.network();
        let out = self.cmd(["network", "inspect", &network]).output().await?;
        match self.kind {
            Kind::Docker => docker_network(&out),
            Kind::Podman => podman_network(&out),
        }
        .map_err(|message| RuntimeError::Network {
            runtime: self.kind,
            network,
            message,
        })
    }

    /// The container `name`, or `None` when there is none.
    pub async fn container(&self, name: &str) -> Result<Option<Container>, RuntimeError> {
        let out = self
            .cmd(["inspect", "--format", "{{.Id}} {{.State.Status}}", name])
            .output()
            .await;
        match out {
            Ok(out) => Container::parse(&out)
                .map(Some)
                .ok_or(RuntimeError::Output {
                    command: format!("{} inspect {name}", self.kind),
                    message: format!("expected `ID STATUS`, got {out:?}"),
                }),
            // Both say "no such object" / "no such container" and exit non-zero.
            Err(CmdError::Failed { stderr, .. })
                if stderr.to_ascii_lowercase().contains("no such") =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn start(&self, name: &str) -> Result<(), RuntimeError> {
        self.cmd(["start", name])
            .timeout(Duration::from_secs(120))
            .output()
            .await?;
        Ok(())
    }

    /// The IPv4 address `name` resolves to inside container `node`, if it resolves.
    pub async fn resolve_in(&self, node: &str, name: &str) -> Option<Ipv4Addr> {
        let out = self
            .cmd(["exec", node, "getent", "ahostsv4", name])
            .output()
            .await
            .ok()?;
        first_ipv4(&out)
    }
}

/// Finds the runtime kind will use. `path` is where programs are looked up (tests give their
/// own), `requested` what `KIND_EXPERIMENTAL_PROVIDER` says.
pub async fn find(
    requested: &Requested,
    path: &std::ffi::OsStr,
    network_override: impl Fn(Kind) -> Option<String>,
) -> Result<Runtime, RuntimeError> {
    let found = |kind: Kind| crate::cluster::tools::find_in_path(kind.name(), path);
    let make = |kind: Kind, program: PathBuf| Runtime {
        kind,
        program,
        network_override: network_override(kind),
    };
    match requested {
        Requested::One(kind) => found(*kind)
            .map(|p| make(*kind, p))
            .ok_or(RuntimeError::Missing(Some(*kind))),
        Requested::Other(value) => Err(RuntimeError::Unsupported(value.clone())),
        Requested::Detect => {
            for kind in [Kind::Docker, Kind::Podman] {
                if let Some(p) = found(kind)
                    && says_it_is(kind, &p).await
                {
                    return Ok(make(kind, p));
                }
            }
            Err(RuntimeError::Missing(None))
        }
    }
}

/// kind's `IsAvailable`: `docker -v` starts with `Docker version`, `podman -v` with `podman
/// version`.
async fn says_it_is(kind: Kind, program: &Path) -> bool {
    let want = match kind {
        Kind::Docker => "Docker version",
        Kind::Podman => "podman version",
    };
    Cmd::new(program)
        .arg("-v")
        .timeout(QUICK)
        .output()
        .await
        .is_ok_and(|out| out.lines().next().is_some_and(|l| l.starts_with(want)))
}

/// The environment kind needs to use the same runtime and network as the bench.
pub fn kind_env(rt: &Runtime) -> Vec<(OsString, OsString)> {
    let mut env = vec![(ENV_PROVIDER.into(), rt.kind.name().into())];
    if let Some(n) = &rt.network_override {
        env.push((rt.kind.network_env().into(), n.into()));
    }
    env
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "{}",
        match .0 {
            Some(Kind::Docker) => "KIND_EXPERIMENTAL_PROVIDER=docker but `docker` is not on PATH: kind runs its node as a Docker container; install Docker and let this user run it".to_owned(),
            Some(Kind::Podman) => "KIND_EXPERIMENTAL_PROVIDER=podman but `podman` is not on PATH: install Podman (kind needs 3.0 or later; https://kind.sigs.k8s.io/docs/user/rootless/)".to_owned(),
            None => "neither Docker nor Podman found: kind runs its node as a container; install Docker (and let this user run it), or Podman and set KIND_EXPERIMENTAL_PROVIDER=podman".to_owned(),
        }
    )]
    Missing(Option<Kind>),
    #[error(
        "KIND_EXPERIMENTAL_PROVIDER={0}: the kind backend drives Docker and Podman only; unset it or set it to docker or podman"
    )]
    Unsupported(String),
    #[error(transparent)]
    Cmd(#[from] CmdError),
    #[error("`{command}`: {message}")]
    Output { command: String, message: String },
    #[error("{runtime} network `{network}`: {message}")]
    Network {
        runtime: Kind,
        network: String,
        message: String,
    },
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `docker info --format '{{json .}}'`, trimmed to the fields read, as Docker Desktop
    /// 4.x on macOS prints them (`OperatingSystem: Docker Desktop`, `Name: docker-desktop`;
    /// docs.docker.com, "docker info" reference and Docker Desktop's own output).
    pub const DOCKER_DESKTOP_INFO: &str = r#"{"ID":"b0a6…","Name":"docker-desktop","OperatingSystem":"Docker Desktop","OSType":"linux","KernelVersion":"6.10.14-linuxkit","SecurityOptions":["name=seccomp,profile=unconfined","name=cgroupns"],"CgroupVersion":"2"}"#;
    /// Rootless Docker (dockerd-rootless.sh): `name=rootless` among the security options,
    /// which is what kind's docker provider `info()` looks for.
    pub const ROOTLESS_DOCKER_INFO: &str = r#"{"Name":"laptop","OperatingSystem":"Ubuntu 24.04.1 LTS","OSType":"linux","SecurityOptions":["name=seccomp,profile=builtin","name=rootless","name=cgroupns"],"CgroupVersion":"2"}"#;
    /// Rootful Docker Engine on Linux (GitHub's ubuntu-24.04 runner).
    pub const ROOTFUL_DOCKER_INFO: &str = r#"{"Name":"runner","OperatingSystem":"Ubuntu 24.04.1 LTS","OSType":"linux","SecurityOptions":["name=apparmor","name=seccomp,profile=builtin","name=cgroupns"],"CgroupVersion":"2"}"#;
    /// `podman info --format json` (trimmed): the `host.security.rootless` kind reads.
    pub const ROOTLESS_PODMAN_INFO: &str = r#"{"host":{"arch":"amd64","cgroupVersion":"v2","cgroupControllers":["cpu","memory","pids"],"security":{"rootless":true,"seccompEnabled":true},"networkBackend":"netavark","pasta":{"executable":"/usr/bin/pasta"}},"version":{"Version":"5.4.0"}}"#;
    pub const ROOTFUL_PODMAN_INFO: &str = r#"{"host":{"arch":"amd64","cgroupVersion":"v2","security":{"rootless":false}},"version":{"Version":"5.4.0"}}"#;
    /// `docker network inspect kind` for the network kind creates (an IPv6 ULA subnet from
    /// `generateULASubnetFromName("kind")` first, then Docker's IPv4 pick).
    pub const DOCKER_KIND_NETWORK: &str = r#"[{"Name":"kind","Driver":"bridge","EnableIPv6":true,
        "IPAM":{"Driver":"default","Options":{},"Config":[
          {"Subnet":"fc00:f853:ccd:e793::/64","Gateway":"fc00:f853:ccd:e793::1"},
          {"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]},
        "Options":{"com.docker.network.bridge.enable_ip_masquerade":"true"}}]"#;
    /// `podman network inspect kind` under netavark (Podman 4+): lower-case `subnets[]`.
    pub const PODMAN_KIND_NETWORK: &str = r#"[{"name":"kind","id":"ff0b…","driver":"bridge",
        "network_interface":"podman1","subnets":[
          {"subnet":"fc00:f853:ccd:e793::/64","gateway":"fc00:f853:ccd:e793::1"},
          {"subnet":"10.89.0.0/24","gateway":"10.89.0.1"}],
        "ipv6_enabled":true,"internal":false,"dns_enabled":true,
        "ipam_options":{"driver":"host-local"}}]"#;

    #[test]
    fn setups_from_info() {
        assert_eq!(docker_setup(DOCKER_DESKTOP_INFO), Ok(Setup::DockerDesktop));
        assert_eq!(docker_setup(ROOTLESS_DOCKER_INFO), Ok(Setup::Rootless));
        assert_eq!(docker_setup(ROOTFUL_DOCKER_INFO), Ok(Setup::Rootful));
        assert!(docker_setup("Cannot connect to the Docker daemon").is_err());
        assert_eq!(podman_setup(ROOTLESS_PODMAN_INFO), Ok(Setup::Rootless));
        assert_eq!(podman_setup(ROOTFUL_PODMAN_INFO), Ok(Setup::Rootful));
        assert!(podman_setup("{}").is_err());
    }

    #[test]
    fn requested_runtime() {
        assert_eq!(Requested::parse(None), Requested::Detect);
        assert_eq!(Requested::parse(Some("")), Requested::Detect);
        assert_eq!(
            Requested::parse(Some("podman")),
            Requested::One(Kind::Podman)
        );
        assert_eq!(
            Requested::parse(Some("nerdctl")),
            Requested::Other("nerdctl".into())
        );
    }

    #[test]
    fn network_name_override() {
        assert_eq!(network_name(None), "kind");
        assert_eq!(network_name(Some("")), "kind");
        assert_eq!(network_name(Some("ci-net")), "ci-net");
    }

    #[test]
    fn gateway_from_docker_network_inspect() {
        let gw = |s| docker_network(s).map(|n| n.gateway);
        assert_eq!(
            docker_network(DOCKER_KIND_NETWORK),
            Ok(Network {
                gateway: Ipv4Addr::new(172, 18, 0, 1),
                subnet: Some("172.18.0.0/16".into())
            })
        );
        let empty_fields = r#"[{"IPAM":{"Config":[
              {"Subnet":"172.19.0.0/16","IPRange":"","Gateway":""}]}}]"#;
        assert_eq!(gw(empty_fields), Ok(Ipv4Addr::new(172, 19, 0, 1)));
        let no_gateway = r#"[{"IPAM":{"Config":[{"Subnet":"10.89.0.0/24"}]}}]"#;
        assert_eq!(gw(no_gateway), Ok(Ipv4Addr::new(10, 89, 0, 1)));
        let cidr_gateway =
            r#"[{"IPAM":{"Config":[{"Subnet":"172.20.0.0/16","Gateway":"172.20.0.1/16"}]}}]"#;
        assert_eq!(gw(cidr_gateway), Ok(Ipv4Addr::new(172, 20, 0, 1)));
        let v6_only = r#"[{"IPAM":{"Config":[{"Subnet":"fc00::/64","Gateway":"fc00::1"}]}}]"#;
        assert!(gw(v6_only).is_err());
        assert!(gw("[]").is_err());
        assert!(gw("Error: No such network: kind").is_err());
    }

    #[test]
    fn gateway_from_podman_network_inspect() {
        assert_eq!(
            podman_network(PODMAN_KIND_NETWORK),
            Ok(Network {
                gateway: Ipv4Addr::new(10, 89, 0, 1),
                subnet: Some("10.89.0.0/24".into())
            })
        );
        // Podman 3: the CNI config list.
        let cni = r#"[{"cniVersion":"0.4.0","name":"kind","plugins":[
            {"type":"bridge","bridge":"cni-podman1","isGateway":true,"ipMasq":true,
             "ipam":{"type":"host-local","ranges":[[{"subnet":"10.89.1.0/24","gateway":"10.89.1.1"}]]}},
            {"type":"portmap"},{"type":"firewall"}]}]"#;
        assert_eq!(
            podman_network(cni).map(|n| n.gateway),
            Ok(Ipv4Addr::new(10, 89, 1, 1))
        );
        assert!(
            podman_network(DOCKER_KIND_NETWORK).is_err(),
            "Docker's shape"
        );
        assert!(podman_network("[]").is_err());
    }

    #[test]
    fn first_host_of_subnets() {
        assert_eq!(
            first_host("172.18.0.0/16"),
            Some(Ipv4Addr::new(172, 18, 0, 1))
        );
        assert_eq!(
            first_host("172.18.5.7/16"),
            Some(Ipv4Addr::new(172, 18, 0, 1))
        );
        assert_eq!(first_host("10.0.0.0/8"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(first_host("10.0.0.4/31"), None);
        assert_eq!(first_host("fc00::/64"), None);
        assert_eq!(first_host("nonsense"), None);
    }

    #[test]
    fn container_and_getent_output() {
        assert_eq!(
            Container::parse("4f1c0e2d9a exited\n"),
            Some(Container {
                id: "4f1c0e2d9a".into(),
                status: "exited".into()
            })
        );
        assert!(Container::parse("4f1c running").unwrap().running());
        assert_eq!(Container::parse(""), None);
        let getent = "192.168.65.254  STREAM host.docker.internal\n\
                      192.168.65.254  DGRAM  \n192.168.65.254  RAW    \n";
        assert_eq!(first_ipv4(getent), Some(Ipv4Addr::new(192, 168, 65, 254)));
        assert_eq!(first_ipv4(""), None);
    }
}
