//! PEM text as Go's `pem.EncodeToMemory` writes it, which is what the real services return:
//! base64 in 64-character lines, each ending in `\n`, the last line included.

use base64::Engine as _;

/// One PEM block `-----BEGIN {label}-----` holding `der`.
pub fn block(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 is ASCII, so every 64-byte chunk is whole characters.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::block;

    #[test]
    fn lines_are_64_characters_and_the_block_ends_in_a_newline() {
        let pem = block("TEST", &[0u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN TEST-----");
        // 100 bytes are 136 base64 characters: 64 + 64 + 8.
        assert_eq!(
            lines[1..4].iter().map(|l| l.len()).collect::<Vec<_>>(),
            [64, 64, 8]
        );
        assert_eq!(lines[4], "-----END TEST-----");
        assert!(pem.ends_with("-----END TEST-----\n"));
    }
}
