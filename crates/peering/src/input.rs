//! Validation of user input, done before any remote call so that bad input changes nothing.
//! Each function names the input it checks in its error.

use crate::error::InputError;
use azure_api::VnetRef;

/// A GUID in its canonical lower-case form.
pub fn guid(input: &str, value: &str) -> Result<String, InputError> {
    let trimmed = value.trim();
    uuid::Uuid::parse_str(trimmed)
        .ok()
        .filter(|_| trimmed.len() == 36)
        .map(|parsed| parsed.hyphenated().to_string())
        .ok_or_else(|| {
            InputError::new(
                input,
                format!("{value:?} is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
            )
        })
}

/// An Azure resource group or VNet name: 1–90 characters of letters, digits, `-`, `_`, `.`
/// and `()`, not ending in `.`, and never a path (`/`, `..`).
pub fn azure_name(input: &str, value: &str) -> Result<String, InputError> {
    let value = value.trim();
    let reason = if value.is_empty() {
        Some("must not be empty".to_string())
    } else if value.len() > 90 {
        Some("is longer than 90 characters".to_string())
    } else if value.contains('/') || value.contains('\\') || value.contains("..") {
        Some(format!("{value:?} looks like a path; give the bare name"))
    } else if value.ends_with('.') {
        Some(format!("{value:?} must not end with a period"))
    } else {
        value
            .chars()
            .find(|character| !(character.is_alphanumeric() || "-_.()".contains(*character)))
            .map(|bad| {
                format!("{value:?} contains {bad:?}; allowed are letters, digits, - _ . ( )")
            })
    };
    match reason {
        Some(reason) => Err(InputError::new(input, reason)),
        None => Ok(value.to_string()),
    }
}

/// The longest peering name Azure accepts.
pub const MAX_PEERING_NAME: usize = 80;

/// A VNet peering name as Azure accepts it: 1–80 letters, digits, `_`, `.` and `-`, starting
/// with a letter or digit and ending with a letter, digit or `_`.
pub fn peering_name(input: &str, value: &str) -> Result<String, InputError> {
    let value = value.trim();
    let allowed = |character: char| character.is_ascii_alphanumeric() || "_.-".contains(character);
    let reason = if value.is_empty() {
        Some("must not be empty".to_string())
    } else if value.chars().count() > MAX_PEERING_NAME {
        Some(format!(
            "is {} characters long; Azure allows at most {MAX_PEERING_NAME}",
            value.chars().count()
        ))
    } else if let Some(bad) = value.chars().find(|character| !allowed(*character)) {
        Some(format!(
            "{value:?} contains {bad:?}; allowed are letters, digits, _ . -"
        ))
    } else if !value.starts_with(|character: char| character.is_ascii_alphanumeric()) {
        Some(format!("{value:?} must start with a letter or digit"))
    } else if !value
        .ends_with(|character: char| character.is_ascii_alphanumeric() || character == '_')
    {
        Some(format!("{value:?} must end with a letter, digit or _"))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(InputError::new(input, reason)),
        None => Ok(value.to_string()),
    }
}

/// A display name for an app registration or a role: printable, no control characters.
pub fn display_name(input: &str, value: &str) -> Result<String, InputError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(InputError::new(input, "must not be empty"));
    }
    if value.len() > 120 {
        return Err(InputError::new(input, "is longer than 120 characters"));
    }
    if value.chars().any(|character| character.is_control())
        || value.contains("..")
        || value.contains('/')
    {
        return Err(InputError::new(
            input,
            format!("{value:?} may not contain control characters, / or .."),
        ));
    }
    Ok(value.to_string())
}

/// An Aiven project name: lower-case letters, digits and `-`.
pub fn aiven_project(input: &str, value: &str) -> Result<String, InputError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(InputError::new(input, "must not be empty"));
    }
    if value.len() > 63
        || !value.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '-' || character == '_'
        })
    {
        return Err(InputError::new(
            input,
            format!("{value:?} is not an Aiven project name (letters, digits, - and _)"),
        ));
    }
    Ok(value.to_string())
}

/// A VNet resource id, its parts validated like the flags that name them.
pub fn vnet_ref(input: &str, value: &str) -> Result<VnetRef, InputError> {
    let parsed =
        VnetRef::parse(value).map_err(|error| InputError::new(input, error.to_string()))?;
    Ok(VnetRef::new(
        guid(input, &parsed.subscription_id)?,
        azure_name(input, &parsed.resource_group)?,
        azure_name(input, &parsed.name)?,
    ))
}

/// A duration like `15m`, `90s`, `500ms`.
pub fn duration(input: &str, value: &str) -> Result<std::time::Duration, InputError> {
    humantime::parse_duration(value.trim()).map_err(|error| {
        InputError::new(
            input,
            format!("{value:?} is not a duration like 30s or 15m: {error}"),
        )
    })
}

/// A point in time in RFC 3339 (`2025-01-31T12:00:00Z`), as Azure writes `createdOn`.
pub fn timestamp(input: &str, value: &str) -> Result<std::time::SystemTime, InputError> {
    humantime::parse_rfc3339_weak(value.trim().trim_end_matches('Z')).map_err(|error| {
        InputError::new(
            input,
            format!("{value:?} is not a time like 2025-01-31T12:00:00Z: {error}"),
        )
    })
}

/// The shortest pause between two calls to a remote API that the tool accepts: anything
/// shorter is a busy loop against a service that throttles.
pub const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// A pause between retries or polls: a duration of at least [`MIN_INTERVAL`].
pub fn interval(input: &str, value: &str) -> Result<std::time::Duration, InputError> {
    let interval = duration(input, value)?;
    if interval < MIN_INTERVAL {
        return Err(InputError::new(
            input,
            format!(
                "{value:?} is shorter than {}; a shorter pause hammers a throttled API",
                humantime::format_duration(MIN_INTERVAL)
            ),
        ));
    }
    Ok(interval)
}

/// An IPv4 network `a.b.c.d/n` as (network address, prefix length).
fn ipv4_network(text: &str) -> Option<(u32, u32)> {
    let (address, prefix) = text.trim().split_once('/')?;
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    let prefix: u32 = prefix.parse().ok().filter(|prefix| *prefix <= 32)?;
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    Some((u32::from(address) & mask, prefix))
}

/// Whether two IPv4 networks share an address (false when either is not one).
pub fn cidrs_overlap(first: &str, second: &str) -> bool {
    match (ipv4_network(first), ipv4_network(second)) {
        (Some((first, first_prefix)), Some((second, second_prefix))) => {
            let mask = u32::MAX
                .checked_shl(32 - first_prefix.min(second_prefix))
                .unwrap_or(0);
            first & mask == second & mask
        }
        _ => false,
    }
}

/// An optional GUID from a flag or the state file.
pub fn optional_guid(input: &str, value: Option<&str>) -> Result<Option<String>, InputError> {
    value.map(|value| guid(input, value)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert_eq!(
            guid("--x", "8E0B4A3C-6B0D-4F52-9C1E-2D7E8F9A0B1C").unwrap(),
            "8e0b4a3c-6b0d-4f52-9c1e-2d7e8f9a0b1c"
        );
        assert!(guid("--x", "not-a-guid").is_err());
        assert!(guid("--x", "8e0b4a3c6b0d4f529c1e2d7e8f9a0b1c").is_err());
        assert!(azure_name("--rg", "My-RG_1.(a)").is_ok());
        for bad in ["", "a/b", "..", "x..y", "a b", "end."] {
            assert!(azure_name("--rg", bad).is_err(), "{bad}");
        }
        let parsed = vnet_ref(
            "--vnet-id",
            "/subscriptions/8E0B4A3C-6b0d-4f52-9c1e-2d7e8f9a0b1c/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/Net",
        )
        .unwrap();
        assert_eq!(
            parsed.subscription_id,
            "8e0b4a3c-6b0d-4f52-9c1e-2d7e8f9a0b1c"
        );
        assert_eq!(parsed.resource_group, "RG");
        assert_eq!(parsed.name, "Net");
        assert!(vnet_ref("--vnet-id", "/subscriptions/x/resourceGroups/RG").is_err());
        assert!(
            vnet_ref(
                "--vnet-id",
                "/subscriptions/8e0b4a3c-6b0d-4f52-9c1e-2d7e8f9a0b1c/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/Net"
            )
            .is_err()
        );
        assert_eq!(
            guid("--subscription-id", "zzz").unwrap_err().input,
            "--subscription-id"
        );
        assert!(interval("--retry-interval", "0s").is_err());
        assert!(peering_name("--peering-name", &"a".repeat(80)).is_ok());
        // Regression: 81 characters minted a password, then hung on Azure's refusal.
        assert!(peering_name("--peering-name", &"a".repeat(81)).is_err());
        for bad in ["", "-a", "a-", "a b", "a/b"] {
            assert!(peering_name("--peering-name", bad).is_err(), "{bad}");
        }
        assert!(interval("--retry-interval", "100ms").is_ok());
        assert!(cidrs_overlap("10.0.0.0/16", "10.0.128.0/17"));
        assert!(!cidrs_overlap("10.0.0.0/16", "10.1.0.0/24"));
        assert!(cidrs_overlap("0.0.0.0/0", "10.1.0.0/24"));
        assert!(!cidrs_overlap("not-a-cidr", "10.1.0.0/24"));
    }
}
