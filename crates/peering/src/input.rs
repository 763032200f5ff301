//! Validation of user input, done before any remote call so that bad input changes nothing.

use crate::error::PhaseError;

/// A GUID in its canonical lower-case form.
pub fn guid(input: &str, value: &str) -> Result<String, PhaseError> {
    let trimmed = value.trim();
    uuid::Uuid::parse_str(trimmed)
        .ok()
        .filter(|_| trimmed.len() == 36)
        .map(|parsed| parsed.hyphenated().to_string())
        .ok_or_else(|| {
            PhaseError::input(
                input,
                format!("{value:?} is not a GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
            )
        })
}

/// An Azure resource group or VNet name: 1–90 characters of letters, digits, `-`, `_`, `.`
/// and `()`, not ending in `.`, and never a path (`/`, `..`).
pub fn azure_name(input: &str, value: &str) -> Result<String, PhaseError> {
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
        Some(reason) => Err(PhaseError::input(input, reason)),
        None => Ok(value.to_string()),
    }
}

/// A display name for an app registration or a role: printable, no control characters.
pub fn display_name(input: &str, value: &str) -> Result<String, PhaseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(PhaseError::input(input, "must not be empty"));
    }
    if value.len() > 120 {
        return Err(PhaseError::input(input, "is longer than 120 characters"));
    }
    if value.chars().any(|character| character.is_control())
        || value.contains("..")
        || value.contains('/')
    {
        return Err(PhaseError::input(
            input,
            format!("{value:?} may not contain control characters, / or .."),
        ));
    }
    Ok(value.to_string())
}

/// An Aiven project name: lower-case letters, digits and `-`.
pub fn aiven_project(input: &str, value: &str) -> Result<String, PhaseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(PhaseError::input(input, "must not be empty"));
    }
    if value.len() > 63
        || !value.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '-' || character == '_'
        })
    {
        return Err(PhaseError::input(
            input,
            format!("{value:?} is not an Aiven project name (letters, digits, - and _)"),
        ));
    }
    Ok(value.to_string())
}

/// The parts of a VNet resource id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VnetId {
    pub subscription_id: String,
    pub resource_group: String,
    pub vnet_name: String,
}

impl VnetId {
    pub fn to_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/{}",
            self.subscription_id, self.resource_group, self.vnet_name
        )
    }
}

/// Parses `/subscriptions/S/resourceGroups/G/providers/Microsoft.Network/virtualNetworks/V`.
pub fn vnet_id(input: &str, value: &str) -> Result<VnetId, PhaseError> {
    let not_one = || {
        PhaseError::input(
            input,
            format!(
                "{value:?} is not a VNet resource id (expected /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>)"
            ),
        )
    };
    let parts: Vec<&str> = value.trim().trim_end_matches('/').split('/').collect();
    if parts.len() != 9 || !parts[0].is_empty() {
        return Err(not_one());
    }
    let expected = [
        (1, "subscriptions"),
        (3, "resourcegroups"),
        (5, "providers"),
        (6, "microsoft.network"),
        (7, "virtualnetworks"),
    ];
    if expected
        .iter()
        .any(|(index, word)| !parts[*index].eq_ignore_ascii_case(word))
    {
        return Err(not_one());
    }
    Ok(VnetId {
        subscription_id: guid(input, parts[2])?,
        resource_group: azure_name(input, parts[4])?,
        vnet_name: azure_name(input, parts[8])?,
    })
}

/// A duration like `15m`, `90s`, `500ms`.
pub fn duration(input: &str, value: &str) -> Result<std::time::Duration, PhaseError> {
    humantime::parse_duration(value.trim()).map_err(|error| {
        PhaseError::input(
            input,
            format!("{value:?} is not a duration like 30s or 15m: {error}"),
        )
    })
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
        let parsed = vnet_id(
            "--vnet-id",
            "/subscriptions/8e0b4a3c-6b0d-4f52-9c1e-2d7e8f9a0b1c/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/Net",
        )
        .unwrap();
        assert_eq!(parsed.resource_group, "RG");
        assert_eq!(parsed.vnet_name, "Net");
        assert!(vnet_id("--vnet-id", "/subscriptions/x/resourceGroups/RG").is_err());
        assert!(
            vnet_id(
                "--vnet-id",
                "/subscriptions/8e0b4a3c-6b0d-4f52-9c1e-2d7e8f9a0b1c/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/Net"
            )
            .is_err()
        );
        match guid("--subscription-id", "zzz") {
            Err(PhaseError::Input { input, .. }) => assert_eq!(input, "--subscription-id"),
            _ => panic!(),
        }
    }
}
