//! The node's network: bridge `sbbr0` carrying the node address (this kernel has no `dummy`
//! links), and at `down` the iptables/ip6tables rules and chains kubelet leaves behind
//! (`kube-proxy --cleanup` removes kube-proxy's own).

use super::{BRIDGE, HostError, NODE_IP};
use crate::cmd::Cmd;

/// Creates the bridge with the node address and sets it up.
pub async fn create_bridge() -> Result<(), HostError> {
    if bridge_exists().await {
        return Err(HostError::Daemon(format!(
            "link {BRIDGE} already exists; run `secretbench down` first"
        )));
    }
    Cmd::new("ip")
        .args(["link", "add", BRIDGE, "type", "bridge"])
        .output()
        .await?;
    Cmd::new("ip")
        .args(["addr", "add", &format!("{NODE_IP}/24"), "dev", BRIDGE])
        .output()
        .await?;
    Cmd::new("ip")
        .args(["link", "set", BRIDGE, "up"])
        .output()
        .await?;
    Ok(())
}

pub async fn bridge_exists() -> bool {
    Cmd::new("ip")
        .args(["link", "show", BRIDGE])
        .succeeds()
        .await
}

/// Deletes the bridge if it exists (the pods' veths went with their namespaces).
pub async fn delete_bridge() {
    if bridge_exists().await
        && !Cmd::new("ip")
            .args(["link", "del", BRIDGE])
            .succeeds()
            .await
    {
        tracing::warn!("could not delete link {BRIDGE}");
    }
}

/// Splits one `iptables -S` rule into words, honouring the double quotes iptables puts
/// around comments (`--comment "block incoming localnet connections"`).
pub fn split_rule(rule: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut has_word = false;
    let mut chars = rule.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                has_word = true;
            }
            '\\' if in_quotes => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !in_quotes => {
                if has_word {
                    words.push(std::mem::take(&mut cur));
                    has_word = false;
                }
            }
            c => {
                cur.push(c);
                has_word = true;
            }
        }
    }
    if has_word {
        words.push(cur);
    }
    words
}

/// From `iptables -t T -S` output: the rules that mention a `KUBE-` chain (as the argument
/// words of `-D`), and the `KUBE-` chains to flush and delete.
pub fn kube_rules_and_chains(listing: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let mut rules = Vec::new();
    let mut chains = Vec::new();
    for line in listing.lines() {
        if let Some(rule) = line.strip_prefix("-A ") {
            if rule.contains("KUBE-") {
                rules.push(split_rule(rule));
            }
        } else if let Some(chain) = line.strip_prefix("-N ")
            && chain.starts_with("KUBE-")
        {
            chains.push(chain.trim().to_owned());
        }
    }
    (rules, chains)
}

/// Removes every `KUBE-*` rule and chain left in iptables and ip6tables (filter, nat, mangle).
pub async fn clean_iptables() {
    for ipt in ["iptables", "ip6tables"] {
        for table in ["filter", "nat", "mangle"] {
            let Ok(listing) = Cmd::new(ipt).args(["-t", table, "-S"]).output().await else {
                continue;
            };
            let (rules, chains) = kube_rules_and_chains(&listing);
            for rule in rules {
                let _ = Cmd::new(ipt)
                    .args(["-t", table, "-D"])
                    .args(&rule)
                    .succeeds()
                    .await;
            }
            for chain in chains {
                let _ = Cmd::new(ipt)
                    .args(["-t", table, "-F", &chain])
                    .succeeds()
                    .await;
                let _ = Cmd::new(ipt)
                    .args(["-t", table, "-X", &chain])
                    .succeeds()
                    .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_comments() {
        assert_eq!(
            split_rule(
                r#"KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -j DROP"#
            ),
            vec![
                "KUBE-FIREWALL",
                "!",
                "-s",
                "127.0.0.0/8",
                "-d",
                "127.0.0.0/8",
                "-m",
                "comment",
                "--comment",
                "block incoming localnet connections",
                "-j",
                "DROP"
            ]
        );
        assert_eq!(split_rule(r#"X --comment """#), vec!["X", "--comment", ""]);
    }

    #[test]
    fn finds_kube_rules_and_chains() {
        let listing = "-P INPUT ACCEPT\n-N KUBE-FIREWALL\n-N KUBE-KUBELET-CANARY\n-N DOCKER\n\
                       -A INPUT -j KUBE-FIREWALL\n-A OUTPUT -j KUBE-FIREWALL\n-A FORWARD -j DOCKER\n";
        let (rules, chains) = kube_rules_and_chains(listing);
        assert_eq!(
            rules,
            vec![
                vec!["INPUT".to_owned(), "-j".into(), "KUBE-FIREWALL".into()],
                vec!["OUTPUT".to_owned(), "-j".into(), "KUBE-FIREWALL".into()],
            ]
        );
        assert_eq!(chains, vec!["KUBE-FIREWALL", "KUBE-KUBELET-CANARY"]);
    }
}
