//! GetRandomPassword, and the generator built-in rotation uses.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::aws::AwsEmulator;
use crate::aws::error::AwsError;
use crate::aws::json_protocol::{Call, OpResult, Outcome, input};
use crate::core::Core;

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Rules {
    pub password_length: i64,
    pub exclude_characters: String,
    pub exclude_numbers: bool,
    pub exclude_punctuation: bool,
    pub exclude_uppercase: bool,
    pub exclude_lowercase: bool,
    pub include_space: bool,
    pub require_each_included_type: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            password_length: 32,
            exclude_characters: String::new(),
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            include_space: false,
            require_each_included_type: true,
        }
    }
}

pub fn generate(core: &Core, rules: &Rules) -> Result<String, AwsError> {
    // Coral names the one bound that was broken, as for every other member of this service.
    let broken = if rules.password_length < 1 {
        Some("greater than or equal to 1")
    } else if rules.password_length > 4096 {
        Some("less than or equal to 4096")
    } else {
        None
    };
    if let Some(bound) = broken {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{}' at 'passwordLength' failed to satisfy constraint: Member must have value {bound}",
            rules.password_length
        )));
    }
    let keep = |set: &str| -> Vec<u8> {
        set.bytes()
            .filter(|b| !rules.exclude_characters.as_bytes().contains(b))
            .collect()
    };
    let mut classes: Vec<Vec<u8>> = Vec::new();
    for (excluded, set) in [
        (rules.exclude_lowercase, LOWER),
        (rules.exclude_uppercase, UPPER),
        (rules.exclude_numbers, DIGITS),
        (rules.exclude_punctuation, PUNCTUATION),
        (!rules.include_space, " "),
    ] {
        let chars = keep(set);
        if !excluded && !chars.is_empty() {
            classes.push(chars);
        }
    }
    let length = usize::try_from(rules.password_length).unwrap_or(32);
    if classes.is_empty() || (rules.require_each_included_type && classes.len() > length) {
        return Err(AwsError::client(
            "InvalidParameterException",
            "Password length is too short based on the required types.",
        ));
    }
    let all: Vec<u8> = classes.concat();
    loop {
        let password = core.ids.from_alphabet(&all, length);
        let has_each = classes
            .iter()
            .all(|c| password.bytes().any(|b| c.contains(&b)));
        if !rules.require_each_included_type || has_each {
            return Ok(password);
        }
    }
}

pub(super) fn get_random_password(aws: &AwsEmulator, call: &mut Call<'_>, raw: Value) -> OpResult {
    let rules: Rules = input(raw)?;
    call.authorize(&aws.read().iam, "*")?;
    Ok(Outcome::read(
        json!({ "RandomPassword": generate(call.core, &rules)? }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honours_exclusions_and_requires_each_type() {
        let core = Core::new(true);
        let rules = Rules {
            password_length: 12,
            exclude_punctuation: true,
            exclude_characters: "abc".into(),
            ..Rules::default()
        };
        for _ in 0..50 {
            let p = generate(&core, &rules).expect("valid rules");
            assert_eq!(p.len(), 12);
            assert!(
                p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() && !b"abc".contains(&b))
            );
            assert!(p.bytes().any(|b| b.is_ascii_digit()));
            assert!(p.bytes().any(|b| b.is_ascii_uppercase()));
        }
        let impossible = Rules {
            password_length: 2,
            ..Rules::default()
        };
        assert_eq!(
            generate(&core, &impossible).expect_err("too short").code,
            "InvalidParameterException"
        );
    }
}
