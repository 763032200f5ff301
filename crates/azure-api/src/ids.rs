//! Azure resource ids the procedure passes around, as types: parsed once, formatted one way.

/// A virtual network: subscription, resource group and name. Azure compares the parts
/// case-insensitively; the values keep the case they were given (or that Azure returned).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VnetRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

/// A string that is not a VNet resource id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a VNet resource id (expected /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<name>)"
)]
pub struct NotAVnetId(pub String);

impl VnetRef {
    pub fn new(
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
        }
    }

    /// Parses `/subscriptions/S/resourceGroups/G/providers/Microsoft.Network/virtualNetworks/V`
    /// (any case in the fixed words, an optional trailing `/`). The parts are not validated
    /// beyond being non-empty.
    pub fn parse(text: &str) -> Result<Self, NotAVnetId> {
        let not_one = || NotAVnetId(text.to_string());
        let parts: Vec<&str> = text.trim().trim_end_matches('/').split('/').collect();
        if parts.len() != 9 || !parts[0].is_empty() {
            return Err(not_one());
        }
        let fixed = [
            (1, "subscriptions"),
            (3, "resourcegroups"),
            (5, "providers"),
            (6, "microsoft.network"),
            (7, "virtualnetworks"),
        ];
        if fixed
            .iter()
            .any(|(index, word)| !parts[*index].eq_ignore_ascii_case(word))
            || [2, 4, 8].iter().any(|index| parts[*index].is_empty())
        {
            return Err(not_one());
        }
        Ok(Self::new(parts[2], parts[4], parts[8]))
    }

    /// The resource id.
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// `/subscriptions/S`, where custom roles of this VNet's subscription are assignable.
    pub fn subscription_scope(&self) -> String {
        format!("/subscriptions/{}", self.subscription_id)
    }

    /// Whether two references name the same VNet (Azure names are case-insensitive).
    pub fn same_as(&self, other: &VnetRef) -> bool {
        self.subscription_id
            .eq_ignore_ascii_case(&other.subscription_id)
            && self
                .resource_group
                .eq_ignore_ascii_case(&other.resource_group)
            && self.name.eq_ignore_ascii_case(&other.name)
    }
}

impl std::fmt::Display for VnetRef {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}

impl std::str::FromStr for VnetRef {
    type Err = NotAVnetId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_a_vnet_id() {
        let text =
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/Net";
        let vnet = VnetRef::parse(text).unwrap();
        assert_eq!(vnet, VnetRef::new("S", "RG", "Net"));
        assert_eq!(vnet.id(), text);
        assert_eq!(vnet.subscription_scope(), "/subscriptions/S");
        let lower = VnetRef::parse(&text.to_ascii_lowercase()).unwrap();
        assert!(lower.same_as(&vnet));
        for bad in [
            "",
            "/subscriptions/S/resourceGroups/RG",
            "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/Net",
            "/subscriptions//resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/Net",
        ] {
            assert!(VnetRef::parse(bad).is_err(), "{bad}");
        }
    }
}
