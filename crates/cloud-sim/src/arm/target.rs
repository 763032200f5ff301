//! ARM request paths: which resource (`Target`) a path names and which provider serves it.

/// Which resource provider a request goes to, for the api-version check.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Provider {
    Resources,
    Network,
    Authorization,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    TenantList,
    SubscriptionList,
    Subscription {
        subscription: String,
    },
    ResourceGroup {
        subscription: String,
        resource_group: String,
    },
    /// The networks of a resource group, or of the whole subscription (`resource_group: None`).
    VirtualNetworkList {
        subscription: String,
        resource_group: Option<String>,
    },
    VirtualNetwork {
        subscription: String,
        resource_group: String,
        network: String,
    },
    PeeringList {
        subscription: String,
        resource_group: String,
        network: String,
    },
    Peering {
        subscription: String,
        resource_group: String,
        network: String,
        peering: String,
    },
    Operation {
        subscription: String,
        operation: String,
        results: bool,
    },
    RoleDefinitions {
        scope: String,
        name: Option<String>,
    },
    RoleAssignments {
        scope: String,
        name: Option<String>,
    },
    /// The caller's own permissions at a scope.
    Permissions {
        scope: String,
    },
}

impl Target {
    pub(super) fn provider(&self) -> Provider {
        match self {
            Target::TenantList
            | Target::SubscriptionList
            | Target::Subscription { .. }
            | Target::ResourceGroup { .. } => Provider::Resources,
            Target::RoleDefinitions { .. }
            | Target::RoleAssignments { .. }
            | Target::Permissions { .. } => Provider::Authorization,
            _ => Provider::Network,
        }
    }
}

/// Path keywords compare case-insensitively, as ARM does.
pub(super) fn keyword(segment: &str, expected: &str) -> bool {
    segment.eq_ignore_ascii_case(expected)
}

/// The resource a request path names, or `None` for a path ARM does not serve here.
pub(super) fn parse_target(segments: &[String]) -> Option<Target> {
    let authorization_index = segments.windows(2).position(|pair| {
        keyword(&pair[0], "providers") && keyword(&pair[1], "Microsoft.Authorization")
    });
    if let Some(index) = authorization_index {
        let scope = if index == 0 {
            "/".to_string()
        } else {
            format!("/{}", segments[..index].join("/"))
        };
        let rest = &segments[index + 2..];
        let (kind, name) = match rest {
            [kind] => (kind, None),
            [kind, name] => (kind, Some(name.clone())),
            _ => return None,
        };
        return if keyword(kind, "roleDefinitions") {
            Some(Target::RoleDefinitions { scope, name })
        } else if keyword(kind, "roleAssignments") {
            Some(Target::RoleAssignments { scope, name })
        } else if keyword(kind, "permissions") && name.is_none() {
            Some(Target::Permissions { scope })
        } else {
            None
        };
    }
    let texts: Vec<&str> = segments.iter().map(String::as_str).collect();
    match texts.as_slice() {
        [tenants] if keyword(tenants, "tenants") => Some(Target::TenantList),
        [subscriptions] if keyword(subscriptions, "subscriptions") => {
            Some(Target::SubscriptionList)
        }
        [subscriptions, subscription, providers, network, networks]
            if keyword(subscriptions, "subscriptions")
                && keyword(providers, "providers")
                && keyword(network, "Microsoft.Network")
                && keyword(networks, "virtualNetworks") =>
        {
            Some(Target::VirtualNetworkList {
                subscription: subscription.to_string(),
                resource_group: None,
            })
        }
        [subscriptions, subscription] if keyword(subscriptions, "subscriptions") => {
            Some(Target::Subscription {
                subscription: subscription.to_string(),
            })
        }
        [
            subscriptions,
            subscription,
            providers,
            network,
            locations,
            _location,
            operations,
            operation,
        ] if keyword(subscriptions, "subscriptions")
            && keyword(providers, "providers")
            && keyword(network, "Microsoft.Network")
            && keyword(locations, "locations")
            && (keyword(operations, "operations") || keyword(operations, "operationResults")) =>
        {
            Some(Target::Operation {
                subscription: subscription.to_string(),
                operation: operation.to_string(),
                results: keyword(operations, "operationResults"),
            })
        }
        [
            subscriptions,
            subscription,
            resource_groups,
            resource_group,
            rest @ ..,
        ] if keyword(subscriptions, "subscriptions")
            && keyword(resource_groups, "resourceGroups") =>
        {
            let subscription = subscription.to_string();
            let resource_group = resource_group.to_string();
            match rest {
                [] => Some(Target::ResourceGroup {
                    subscription,
                    resource_group,
                }),
                [providers, network, networks, rest @ ..]
                    if keyword(providers, "providers")
                        && keyword(network, "Microsoft.Network")
                        && keyword(networks, "virtualNetworks") =>
                {
                    match rest {
                        [] => Some(Target::VirtualNetworkList {
                            subscription,
                            resource_group: Some(resource_group),
                        }),
                        [name] => Some(Target::VirtualNetwork {
                            subscription,
                            resource_group,
                            network: name.to_string(),
                        }),
                        [name, peerings] if keyword(peerings, "virtualNetworkPeerings") => {
                            Some(Target::PeeringList {
                                subscription,
                                resource_group,
                                network: name.to_string(),
                            })
                        }
                        [name, peerings, peering]
                            if keyword(peerings, "virtualNetworkPeerings") =>
                        {
                            Some(Target::Peering {
                                subscription,
                                resource_group,
                                network: name.to_string(),
                                peering: peering.to_string(),
                            })
                        }
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{v}`.
pub(super) fn parse_virtual_network_id(id: &str) -> Option<(String, String, String)> {
    if !id.starts_with('/') {
        return None;
    }
    let segments: Vec<&str> = id.trim_end_matches('/').split('/').skip(1).collect();
    match segments.as_slice() {
        [
            subscriptions,
            subscription,
            groups,
            group,
            providers,
            network,
            networks,
            name,
        ] if keyword(subscriptions, "subscriptions")
            && keyword(groups, "resourceGroups")
            && keyword(providers, "providers")
            && keyword(network, "Microsoft.Network")
            && keyword(networks, "virtualNetworks")
            && !subscription.is_empty()
            && !group.is_empty()
            && !name.is_empty() =>
        {
            Some((
                subscription.to_string(),
                group.to_string(),
                name.to_string(),
            ))
        }
        _ => None,
    }
}
