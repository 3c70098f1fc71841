//! Key Vault's documented limits on what a request may hold, in one place: object names (1-127
//! characters of `0-9a-zA-Z-`; "Azure Key Vault keys, secrets and certificates overview"), secret
//! values (25 KB) and content types (255 characters; "About Azure Key Vault secrets").

use super::error::KvError;

pub const MAX_NAME_CHARS: usize = 127;
pub const MAX_SECRET_VALUE_BYTES: usize = 25 * 1024;
pub const MAX_CONTENT_TYPE_CHARS: usize = 255;

pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub fn check_name(name: &str) -> Result<(), KvError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(KvError::invalid_name(name))
    }
}

pub fn check_secret_value(value: &str) -> Result<(), KvError> {
    if value.len() > MAX_SECRET_VALUE_BYTES {
        return Err(KvError::bad_parameter(format!(
            "The secret value exceeds the maximum size of {MAX_SECRET_VALUE_BYTES} bytes."
        )));
    }
    Ok(())
}

pub fn check_content_type(content_type: &str) -> Result<(), KvError> {
    if content_type.chars().count() > MAX_CONTENT_TYPE_CHARS {
        return Err(KvError::bad_parameter(format!(
            "Property contentType has invalid value: it is longer than {MAX_CONTENT_TYPE_CHARS} characters."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_and_content_types_follow_key_vault() {
        assert!(valid_name("a-B-9") && !valid_name("a_b") && !valid_name(""));
        assert!(valid_name(&"a".repeat(127)) && !valid_name(&"a".repeat(128)));
        assert!(check_secret_value(&"x".repeat(MAX_SECRET_VALUE_BYTES)).is_ok());
        assert!(check_secret_value(&"x".repeat(MAX_SECRET_VALUE_BYTES + 1)).is_err());
        assert!(check_content_type(&"t".repeat(255)).is_ok());
        assert_eq!(
            check_content_type(&"t".repeat(256)).map_err(|e| e.code),
            Err("BadParameter".to_owned())
        );
    }
}
