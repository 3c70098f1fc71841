//! Where the emulators listen, and where pods reach them: two different addresses as soon as
//! the cluster's network is not this machine's own (Docker Desktop's VM, a rootless runtime's
//! namespace). The wiring tells pods [`EmulatorAddress::advertise`]; the emulators bind
//! [`EmulatorAddress::listen`]; the harness itself talks to [`EmulatorAddress::local`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmulatorAddress {
    /// What the emulators bind: an address of this machine, loopback, or all interfaces.
    pub listen: IpAddr,
    /// What pods connect to (`WireCtx.host`): an IP, since the wiring also puts it in
    /// `hostAliases`.
    pub advertise: IpAddr,
}

impl EmulatorAddress {
    /// Listening where pods connect (host backend, rootful kind, `existing`).
    pub fn same(ip: IpAddr) -> Self {
        Self {
            listen: ip,
            advertise: ip,
        }
    }

    /// The address this process uses: loopback when the emulators listen on all interfaces
    /// (or on loopback), else the one address they listen on.
    pub fn local(&self) -> IpAddr {
        match self.listen {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ip => ip,
        }
    }
}

impl fmt::Display for EmulatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.listen == self.advertise {
            write!(f, "{}", self.listen)
        } else {
            let listen = if self.listen.is_unspecified() {
                format!("all interfaces ({})", self.listen)
            } else {
                self.listen.to_string()
            };
            write!(
                f,
                "listening on {listen}, pods connect to {}",
                self.advertise
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_harness_talks_to_loopback_unless_one_address_is_bound() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let desktop = EmulatorAddress {
            listen: ip("127.0.0.1"),
            advertise: ip("192.168.65.254"),
        };
        assert_eq!(desktop.local(), ip("127.0.0.1"));
        let rootless = EmulatorAddress {
            listen: ip("0.0.0.0"),
            advertise: ip("192.168.1.20"),
        };
        assert_eq!(rootless.local(), ip("127.0.0.1"));
        assert_eq!(
            rootless.to_string(),
            "listening on all interfaces (0.0.0.0), pods connect to 192.168.1.20"
        );
        let rootful = EmulatorAddress::same(ip("172.18.0.1"));
        assert_eq!(rootful.local(), ip("172.18.0.1"));
        assert_eq!(rootful.to_string(), "172.18.0.1");
        let v6 = EmulatorAddress {
            listen: ip("::"),
            advertise: ip("fd00::2"),
        };
        assert_eq!(v6.local(), ip("::1"));
    }
}
