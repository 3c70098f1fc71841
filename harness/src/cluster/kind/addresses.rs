//! Where the emulators listen and what pods are told, for each setup kind runs on:
//!
//! | setup | pods connect to | emulators listen on |
//! |---|---|---|
//! | Docker or Podman, rootful, Linux | the kind network's gateway (a bridge of this machine) | that gateway |
//! | Docker Desktop (macOS, Windows, Linux) | `host.docker.internal`, as resolved inside the node | loopback |
//! | rootless Podman | `host.containers.internal`, as resolved inside the node | all interfaces |
//! | rootless Docker | this machine's own address (the source of its default route) | all interfaces |
//!
//! Why: on Docker Desktop "the container networks are not exposed to the host" (kind,
//! known issues), the engine runs in a VM, and Docker Desktop forwards
//! `host.docker.internal` to this machine (docs.docker.com, Desktop networking how-tos). A
//! rootless runtime keeps its bridges in RootlessKit's (Podman's) network namespace: their
//! gateway is not an address here, and this machine is reached through slirp4netns, pasta or
//! vpnkit, which open the connection from this machine's side. Rootless Docker blocks the
//! slirp4netns host address `10.0.2.2` by default (`DOCKERD_ROOTLESS_ROOTLESSKIT_DISABLE_HOST_LOOPBACK`
//! defaults to true in moby's `contrib/dockerd-rootless.sh`), so the bench advertises this
//! machine's own address, which slirp4netns and vpnkit reach; Podman names the host
//! `host.containers.internal` in every container's `/etc/hosts` (kind's podman provider passes
//! no `--no-hosts`), which pasta maps to this machine since Podman 5.3. Rootless listeners
//! take all interfaces because the address the connection arrives on differs between those
//! network drivers (this machine's address, or loopback for `10.0.2.2`).
//!
//! `SECRETBENCH_EMULATOR_HOST` (an IP pods reach) and `SECRETBENCH_EMULATOR_LISTEN` override
//! the choice. A setup that does not fit is refused with what to set.

use std::net::{IpAddr, Ipv4Addr};

use super::runtime::{Kind, Network, Setup};
use crate::cluster::address::EmulatorAddress;

/// Where the emulators listen (`0.0.0.0`, `127.0.0.1`, an address of this machine); read on
/// every backend that chooses for itself (kind).
pub const ENV_EMULATOR_LISTEN: &str = "SECRETBENCH_EMULATOR_LISTEN";
pub use crate::cluster::existing::ENV_EMULATOR_HOST;

/// The node's name for this machine under Docker Desktop.
pub const DOCKER_DESKTOP_HOST: &str = "host.docker.internal";
/// Podman's name for this machine in every container's `/etc/hosts`.
pub const PODMAN_HOST: &str = "host.containers.internal";

/// This machine's network, as far as the choice needs it. Tests use a stand-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ThisMachine {
    #[default]
    Real,
    /// Addresses that count as this machine's (bound as loopback by the probe), and the
    /// address its default route leaves from.
    StandIn {
        addresses: Vec<IpAddr>,
        primary: Option<Ipv4Addr>,
    },
}

impl ThisMachine {
    /// Whether `ip` can be listened on here (an address of one of this machine's interfaces,
    /// loopback, or all interfaces).
    pub fn is_local(&self, ip: IpAddr) -> bool {
        if ip.is_unspecified() || ip.is_loopback() {
            return true;
        }
        match self {
            ThisMachine::Real => std::net::TcpListener::bind((ip, 0)).is_ok(),
            ThisMachine::StandIn { addresses, .. } => addresses.contains(&ip),
        }
    }

    /// The address a listener for `ip` really binds: `ip` itself, except for a stand-in's
    /// pretend addresses, which are loopback.
    pub fn bind_ip(&self, ip: IpAddr) -> IpAddr {
        match self {
            ThisMachine::StandIn { addresses, .. } if addresses.contains(&ip) => {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
            _ => ip,
        }
    }

    /// The IPv4 address this machine's default route leaves from. Connecting a UDP socket
    /// only picks the route; no packet is sent.
    pub fn primary_ipv4(&self) -> Option<Ipv4Addr> {
        match self {
            ThisMachine::Real => {
                let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
                // TEST-NET-1 (RFC 5737): any routed destination would do.
                socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
                match socket.local_addr().ok()?.ip() {
                    IpAddr::V4(v4) if !v4.is_unspecified() && !v4.is_loopback() => Some(v4),
                    _ => None,
                }
            }
            ThisMachine::StandIn { primary, .. } => *primary,
        }
    }
}

/// What was found about the setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub runtime: Kind,
    pub setup: Setup,
    /// The kind network (rootful setups).
    pub network: Option<Network>,
    /// The runtime's name for this machine as resolved inside the node (Docker Desktop,
    /// Podman), if it resolves.
    pub resolved: Option<Ipv4Addr>,
    /// This machine's own address (rootless setups).
    pub primary: Option<Ipv4Addr>,
}

/// The user's choices (`SECRETBENCH_EMULATOR_HOST`, `SECRETBENCH_EMULATOR_LISTEN`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub host: Option<String>,
    pub listen: Option<String>,
}

/// The choice, and how it was made (for the progress line and failure messages).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Choice {
    pub address: EmulatorAddress,
    pub runtime: Kind,
    pub setup: Setup,
    /// Whether the user set the address ([`ENV_EMULATOR_HOST`]).
    pub overridden: bool,
    /// The kind network's subnet, for firewall advice.
    pub subnet: Option<String>,
}

impl Choice {
    pub fn describe(&self) -> String {
        let by = if self.overridden {
            ENV_EMULATOR_HOST.to_owned()
        } else {
            self.setup.describe(self.runtime).to_owned()
        };
        format!("emulator address ({by}): {}", self.address)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{setup}: {message}")]
pub struct Refusal {
    pub setup: String,
    pub message: String,
}

fn parse_ip(var: &str, value: &str) -> Result<IpAddr, String> {
    value.trim().parse::<IpAddr>().map_err(|_| {
        format!(
            "{var}={value:?} is not an IP address (pods get it in hostAliases, which take only IPs)"
        )
    })
}

/// What to set when nothing here fits.
fn set_it_yourself() -> String {
    format!(
        "set {ENV_EMULATOR_HOST} to an IP address of this machine that the kind node reaches \
         (and {ENV_EMULATOR_LISTEN} to where the emulators should listen: 0.0.0.0 for all \
         interfaces, the default when {ENV_EMULATOR_HOST} is not an address of this machine)"
    )
}

/// Chooses the addresses, or refuses with what to do.
pub fn choose(
    facts: &Facts,
    overrides: &Overrides,
    machine: &ThisMachine,
) -> Result<Choice, Refusal> {
    let setup = facts.setup.describe(facts.runtime).to_owned();
    let refuse = |message: String| Refusal {
        setup: setup.clone(),
        message,
    };
    let listen_override = overrides
        .listen
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(|v| parse_ip(ENV_EMULATOR_LISTEN, v))
        .transpose()
        .map_err(&refuse)?;
    if let Some(listen) = listen_override
        && !machine.is_local(listen)
    {
        return Err(refuse(format!(
            "{ENV_EMULATOR_LISTEN}={listen} is not an address of this machine"
        )));
    }
    let all = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let choice = |address: EmulatorAddress, overridden| Choice {
        address,
        runtime: facts.runtime,
        setup: facts.setup,
        overridden,
        subnet: facts.network.as_ref().and_then(|n| n.subnet.clone()),
    };

    if let Some(host) = overrides.host.as_deref().filter(|v| !v.trim().is_empty()) {
        let advertise = parse_ip(ENV_EMULATOR_HOST, host).map_err(&refuse)?;
        let listen = listen_override.unwrap_or(if machine.is_local(advertise) {
            advertise
        } else {
            all
        });
        return Ok(choice(EmulatorAddress { listen, advertise }, true));
    }

    let address = match facts.setup {
        Setup::Rootful => {
            let network = facts.network.as_ref().ok_or_else(|| {
                refuse(format!(
                    "no IPv4 gateway on the kind network; {}",
                    set_it_yourself()
                ))
            })?;
            let gateway = IpAddr::V4(network.gateway);
            if !machine.is_local(gateway) {
                return Err(refuse(format!(
                    "the kind network's gateway {gateway} is not an address of this machine, so \
                     the {} engine runs somewhere else (a VM such as colima, Rancher Desktop, \
                     OrbStack or podman machine, or a remote DOCKER_HOST / CONTAINER_HOST); {}",
                    facts.runtime,
                    set_it_yourself()
                )));
            }
            EmulatorAddress {
                listen: listen_override.unwrap_or(gateway),
                advertise: gateway,
            }
        }
        Setup::DockerDesktop => {
            let resolved = facts.resolved.ok_or_else(|| {
                refuse(format!(
                    "{DOCKER_DESKTOP_HOST} does not resolve inside the kind node, so pods have \
                     no name for this machine; {}",
                    set_it_yourself()
                ))
            })?;
            EmulatorAddress {
                listen: listen_override.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                advertise: IpAddr::V4(resolved),
            }
        }
        Setup::Rootless => {
            let advertise = match facts.runtime {
                Kind::Podman => facts.resolved.or(facts.primary),
                Kind::Docker => facts.primary,
            }
            .ok_or_else(|| {
                refuse(format!(
                    "found no address of this machine for pods to connect to (no default \
                     route{}); {}",
                    if facts.runtime == Kind::Podman {
                        format!(", and {PODMAN_HOST} does not resolve inside the node")
                    } else {
                        String::new()
                    },
                    set_it_yourself()
                ))
            })?;
            EmulatorAddress {
                listen: listen_override.unwrap_or(all),
                advertise: IpAddr::V4(advertise),
            }
        }
    };
    Ok(choice(address, false))
}

/// What to do when the probe pod could not reach the emulator address.
pub fn unreachable_advice(choice: &Choice, port: u16, dropped: bool) -> String {
    let a = &choice.address;
    let subnet = choice
        .subnet
        .as_deref()
        .unwrap_or("the kind network's subnet");
    if choice.overridden {
        return format!(
            "{ENV_EMULATOR_HOST}={} is not reachable from pods on port {port} (listening on \
             {}); give an address the node reaches, or allow it through this machine's firewall",
            a.advertise, a.listen
        );
    }
    match choice.setup {
        Setup::Rootful => format!(
            "this machine's firewall {} traffic from the kind network ({subnet}) to {}:{port}; \
             allow it, e.g. UFW: `sudo ufw allow in from {subnet}`, firewalld: `sudo \
             firewall-cmd --zone=trusted --add-source={subnet}`, then run up again",
            if dropped { "drops" } else { "rejects" },
            a.advertise
        ),
        Setup::DockerDesktop => format!(
            "Docker Desktop did not carry the connection from pods to {DOCKER_DESKTOP_HOST} \
             ({}) through to this machine's {}:{port}; listen on all interfaces instead \
             ({ENV_EMULATOR_LISTEN}=0.0.0.0) and allow Docker Desktop through this machine's \
             firewall, then run up again",
            a.advertise, a.listen
        ),
        Setup::Rootless => match choice.runtime {
            Kind::Docker => format!(
                "rootless Docker did not carry the connection from pods to this machine's \
                 address {}:{port}. With slirp4netns the host is also 10.0.2.2 once \
                 DOCKERD_ROOTLESS_ROOTLESSKIT_DISABLE_HOST_LOOPBACK=false is set for the \
                 rootless daemon (`systemctl --user edit docker`, then `systemctl --user \
                 restart docker`): then run with {ENV_EMULATOR_HOST}=10.0.2.2. Otherwise a \
                 firewall on this machine filters the connection",
                a.advertise
            ),
            Kind::Podman => format!(
                "rootless Podman did not carry the connection from pods to {} ({PODMAN_HOST} \
                 or this machine's address) on port {port}. Podman 5.3 or later maps \
                 {PODMAN_HOST} to this machine under pasta; on older versions set \
                 {ENV_EMULATOR_HOST} to an address of this machine the node reaches (with \
                 slirp4netns, 10.0.2.2 needs `allow_host_loopback=true` in containers.conf's \
                 network_cmd_options)",
                a.advertise
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn facts(runtime: Kind, setup: Setup) -> Facts {
        Facts {
            runtime,
            setup,
            network: None,
            resolved: None,
            primary: None,
        }
    }

    fn machine(addresses: &[&str], primary: Option<&str>) -> ThisMachine {
        ThisMachine::StandIn {
            addresses: addresses.iter().map(|a| ip(a)).collect(),
            primary: primary.map(|p| p.parse().unwrap()),
        }
    }

    #[test]
    fn rootful_listens_and_advertises_the_gateway() {
        let mut f = facts(Kind::Docker, Setup::Rootful);
        f.network = Some(Network {
            gateway: Ipv4Addr::new(172, 18, 0, 1),
            subnet: Some("172.18.0.0/16".into()),
        });
        let c = choose(&f, &Overrides::default(), &machine(&["172.18.0.1"], None)).unwrap();
        assert_eq!(c.address, EmulatorAddress::same(ip("172.18.0.1")));
        assert_eq!(c.subnet.as_deref(), Some("172.18.0.0/16"));
        assert_eq!(
            c.describe(),
            "emulator address (Docker (rootful, Linux)): 172.18.0.1"
        );
        // The same output from an engine in a VM or behind a remote DOCKER_HOST.
        let e = choose(&f, &Overrides::default(), &machine(&[], None)).unwrap_err();
        assert!(e.message.contains("not an address of this machine"), "{e}");
        assert!(e.message.contains(ENV_EMULATOR_HOST), "{e}");
    }

    #[test]
    fn docker_desktop_listens_on_loopback_and_advertises_host_docker_internal() {
        let mut f = facts(Kind::Docker, Setup::DockerDesktop);
        f.resolved = Some(Ipv4Addr::new(192, 168, 65, 254));
        let c = choose(&f, &Overrides::default(), &machine(&[], None)).unwrap();
        assert_eq!(
            c.address,
            EmulatorAddress {
                listen: ip("127.0.0.1"),
                advertise: ip("192.168.65.254")
            }
        );
        assert_eq!(c.address.local(), ip("127.0.0.1"));
        f.resolved = None;
        let e = choose(&f, &Overrides::default(), &machine(&[], None)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Docker Desktop: host.docker.internal"),
            "{e}"
        );
    }

    #[test]
    fn rootless_listens_everywhere_and_advertises_what_reaches_this_machine() {
        let m = machine(&["192.168.1.20"], Some("192.168.1.20"));
        let mut docker = facts(Kind::Docker, Setup::Rootless);
        docker.primary = Some(Ipv4Addr::new(192, 168, 1, 20));
        let c = choose(&docker, &Overrides::default(), &m).unwrap();
        assert_eq!(
            c.address,
            EmulatorAddress {
                listen: ip("0.0.0.0"),
                advertise: ip("192.168.1.20")
            }
        );
        let mut podman = facts(Kind::Podman, Setup::Rootless);
        podman.primary = Some(Ipv4Addr::new(192, 168, 1, 20));
        podman.resolved = Some(Ipv4Addr::new(169, 254, 1, 2));
        let c = choose(&podman, &Overrides::default(), &m).unwrap();
        assert_eq!(
            c.address.advertise,
            ip("169.254.1.2"),
            "pasta's host address"
        );
        assert_eq!(c.address.listen, ip("0.0.0.0"));
        podman.resolved = None;
        assert_eq!(
            choose(&podman, &Overrides::default(), &m)
                .unwrap()
                .address
                .advertise,
            ip("192.168.1.20")
        );
        podman.primary = None;
        let e = choose(&podman, &Overrides::default(), &m).unwrap_err();
        assert!(e.message.contains(PODMAN_HOST), "{e}");
        docker.primary = None;
        assert!(choose(&docker, &Overrides::default(), &m).is_err());
    }

    #[test]
    fn overrides_win_and_are_checked() {
        let m = machine(&["192.168.1.20"], None);
        let f = facts(Kind::Docker, Setup::DockerDesktop);
        let o = |host: Option<&str>, listen: Option<&str>| Overrides {
            host: host.map(str::to_owned),
            listen: listen.map(str::to_owned),
        };
        let c = choose(&f, &o(Some("192.168.1.20"), None), &m).unwrap();
        assert_eq!(c.address, EmulatorAddress::same(ip("192.168.1.20")));
        assert!(c.overridden);
        assert_eq!(
            c.describe(),
            "emulator address (SECRETBENCH_EMULATOR_HOST): 192.168.1.20"
        );
        let c = choose(&f, &o(Some("10.0.2.2"), None), &m).unwrap();
        assert_eq!(
            c.address,
            EmulatorAddress {
                listen: ip("0.0.0.0"),
                advertise: ip("10.0.2.2")
            },
            "not an address here: all interfaces"
        );
        let c = choose(&f, &o(Some("10.0.2.2"), Some("127.0.0.1")), &m).unwrap();
        assert_eq!(c.address.listen, ip("127.0.0.1"));
        let e = choose(&f, &o(Some("emu.test"), None), &m).unwrap_err();
        assert!(e.message.contains("not an IP address"), "{e}");
        let e = choose(&f, &o(None, Some("10.9.9.9")), &m).unwrap_err();
        assert!(e.message.contains("not an address of this machine"), "{e}");
    }

    #[test]
    fn advice_names_what_to_change() {
        let choice = |runtime, setup, overridden| Choice {
            address: EmulatorAddress::same(ip("172.18.0.1")),
            runtime,
            setup,
            overridden,
            subnet: Some("172.18.0.0/16".into()),
        };
        let a = unreachable_advice(&choice(Kind::Docker, Setup::Rootful, false), 4566, true);
        assert!(a.contains("drops"), "{a}");
        assert!(a.contains("sudo ufw allow in from 172.18.0.0/16"), "{a}");
        let a = unreachable_advice(&choice(Kind::Docker, Setup::Rootless, false), 4566, true);
        assert!(
            a.contains("DOCKERD_ROOTLESS_ROOTLESSKIT_DISABLE_HOST_LOOPBACK=false"),
            "{a}"
        );
        let a = unreachable_advice(&choice(Kind::Podman, Setup::Rootless, false), 4566, true);
        assert!(a.contains("Podman 5.3"), "{a}");
        let a = unreachable_advice(&choice(Kind::Docker, Setup::DockerDesktop, false), 1, true);
        assert!(a.contains("SECRETBENCH_EMULATOR_LISTEN=0.0.0.0"), "{a}");
        let a = unreachable_advice(&choice(Kind::Docker, Setup::Rootful, true), 1, false);
        assert!(
            a.starts_with("SECRETBENCH_EMULATOR_HOST=172.18.0.1 is not reachable"),
            "{a}"
        );
    }

    #[test]
    fn this_machine_knows_its_loopback() {
        assert!(ThisMachine::Real.is_local(ip("127.0.0.1")));
        assert!(ThisMachine::Real.is_local(ip("0.0.0.0")));
        // TEST-NET-3 is nobody's address.
        assert!(!ThisMachine::Real.is_local(ip("203.0.113.7")));
        let m = machine(&["172.18.0.1"], None);
        assert_eq!(m.bind_ip(ip("172.18.0.1")), ip("127.0.0.1"));
        assert_eq!(m.bind_ip(ip("0.0.0.0")), ip("0.0.0.0"));
    }
}
