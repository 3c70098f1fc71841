//! The names the AWS listener's HTTPS certificate covers, so it can stand behind redirected AWS
//! host names: a client that dials `https://sts.<region>.amazonaws.com` with only our CA trusted
//! verifies the emulator as it would verify AWS.
//!
//! Which names: aws-sdk-go-v2's STS resolver (service/sts v1.42.1 `endpoints.go`, the one the
//! CSI provider 3.1.1 builds with `sts.New(sts.Options{Region})`) forms `https://sts.<region>.
//! <dnsSuffix>`, and `https://sts.amazonaws.com` for `aws-global`; the partition (so the suffix)
//! comes from the region through `internal/endpoints/awsrulesfn/partitions.json` (aws-sdk-go-v2
//! v1.41.7): listed regions first, then each partition's `regionRegex`, else the `aws`
//! partition. Any string can therefore become a region, so the certificate carries
//! `*.<region>.<suffix>` for every region those partitions list (one wildcard covers STS, Secrets
//! Manager and SSM of a region) plus `*.<suffix>` for the global names, and adds
//! `*.<region>.<suffix>` on demand when a client asks (SNI) for a region not listed. A wildcard
//! covers one label only (RFC 6125 §6.4.3), which is why there is one per region.

use std::net::IpAddr;

use crate::core::tls::CaSpec;

pub const SPEC: CaSpec = CaSpec {
    prefix: "aws",
    ca_common_name: "secretbench AWS emulator CA",
    leaf_common_name: "secretbench AWS emulator",
};

/// `(dnsSuffix, regions)` of each partition in aws-sdk-go-v2 v1.41.7 `partitions.json`.
pub const PARTITIONS: [(&str, &[&str]); 8] = [
    (
        "amazonaws.com",
        &[
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            // aws-us-gov shares the suffix.
            "us-gov-east-1",
            "us-gov-west-1",
        ],
    ),
    ("amazonaws.com.cn", &["cn-north-1", "cn-northwest-1"]),
    ("amazonaws.eu", &["eusc-de-east-1"]),
    ("c2s.ic.gov", &["us-iso-east-1", "us-iso-west-1"]),
    ("sc2s.sgov.gov", &["us-isob-east-1", "us-isob-west-1"]),
    ("cloud.adc-e.uk", &["eu-isoe-west-1"]),
    ("csp.hci.ic.gov", &["us-isof-east-1", "us-isof-south-1"]),
    // Dual-stack endpoints (`UseDualStack`) of the aws partition.
    ("api.aws", &[]),
];

/// The regions of the `aws` partition, whose STS host names (`sts.<region>.amazonaws.com`)
/// a redirect must cover for the CSI provider.
pub fn aws_partition_regions() -> &'static [&'static str] {
    PARTITIONS[0].1
}

/// The global STS host (`aws-global`, and what `UseGlobalEndpoint` picks).
pub const GLOBAL_STS_HOST: &str = "sts.amazonaws.com";

/// `sts.<region>.amazonaws.com`.
pub fn regional_sts_host(region: &str) -> String {
    format!("sts.{region}.amazonaws.com")
}

/// Every name the certificate starts with: loopback, each partition's global names and each
/// listed region's names, and `extra` (the address the listener is bound to).
pub fn base_names(extra: &[IpAddr]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    for (suffix, regions) in PARTITIONS {
        names.push(format!("*.{suffix}"));
        names.extend(regions.iter().map(|r| format!("*.{r}.{suffix}")));
    }
    names.push(GLOBAL_STS_HOST.to_owned());
    names.extend(
        extra
            .iter()
            .filter(|ip| !ip.is_unspecified())
            .map(ToString::to_string),
    );
    names
}

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The wildcard to add for a server name the certificate lacks: `<service>.<region>.<suffix>`
/// for a partition suffix and any region label gets `*.<region>.<suffix>`. Other names get
/// nothing: the emulator stands in for AWS, not for any host a client might name.
pub fn on_demand(sni: &str) -> Option<String> {
    let sni = sni.trim_end_matches('.').to_ascii_lowercase();
    PARTITIONS.iter().find_map(|(suffix, _)| {
        let rest = sni.strip_suffix(suffix)?.strip_suffix('.')?;
        let (service, region) = rest.split_once('.')?;
        (is_label(service) && is_label(region)).then(|| format!("*.{region}.{suffix}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_region_and_the_global_name_are_covered_from_the_start() {
        let names = base_names(&["10.0.0.1".parse().expect("ip")]);
        for r in aws_partition_regions() {
            assert!(
                names.contains(&format!("*.{r}.amazonaws.com")),
                "{r} missing"
            );
        }
        assert!(names.contains(&"*.cn-north-1.amazonaws.com.cn".to_owned()));
        assert!(names.contains(&"sts.amazonaws.com".to_owned()));
        assert!(names.contains(&"*.amazonaws.com".to_owned()));
        assert!(names.contains(&"10.0.0.1".to_owned()));
        assert!(!base_names(&["0.0.0.0".parse().expect("ip")]).contains(&"0.0.0.0".to_owned()));
    }

    #[test]
    fn unlisted_regions_are_added_as_wildcards_and_other_hosts_never() {
        assert_eq!(
            on_demand("sts.xx-future-9.amazonaws.com").as_deref(),
            Some("*.xx-future-9.amazonaws.com")
        );
        assert_eq!(
            on_demand("STS.cn-south-7.amazonaws.com.cn.").as_deref(),
            Some("*.cn-south-7.amazonaws.com.cn")
        );
        assert_eq!(
            on_demand("sts.amazonaws.com"),
            None,
            "covered by *.amazonaws.com"
        );
        assert_eq!(on_demand("a.b.c.amazonaws.com"), None);
        assert_eq!(on_demand("example.com"), None);
        assert_eq!(on_demand("sts.-bad.amazonaws.com"), None);
        assert_eq!(
            regional_sts_host("eu-west-3"),
            "sts.eu-west-3.amazonaws.com"
        );
    }
}
