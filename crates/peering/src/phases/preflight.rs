//! Checks made before a phase's first write, for what a service would otherwise refuse only
//! minutes later; each failure carries its catalog code.

use crate::catalog::Code;
use crate::error::PhaseError;
use crate::phases::request_peering::RequestPeering;
use aiven_api::ProjectVpc;

/// Checks, before the first write, what Aiven would otherwise refuse minutes later: a project
/// VPC that is not ACTIVE or not in Azure, and address ranges that overlap (the most common
/// cause of INVALID_SPECIFICATION).
pub fn request_peering(vpc: &ProjectVpc, request: &RequestPeering) -> Result<(), PhaseError> {
    if vpc.state != "ACTIVE" || !vpc.cloud_name.starts_with("azure-") {
        return Err(PhaseError::failed(format!(
            "project VPC {} is {} in {}: an Azure peering needs an ACTIVE VPC in an Azure cloud",
            vpc.project_vpc_id, vpc.state, vpc.cloud_name
        ))
        .with_code(Code::AivenVpcNotUsable));
    }
    let Some(vpc_cidr) = &vpc.network_cidr else {
        return Ok(());
    };
    let ranges = request
        .vnet_cidrs
        .iter()
        .map(|cidr| (cidr, "the VNet's address space"));
    let extra =
        (request.user_peer_network_cidrs.iter()).map(|cidr| (cidr, "--user-peer-network-cidrs"));
    for (range, whose) in ranges.chain(extra) {
        if crate::input::cidrs_overlap(range, vpc_cidr) {
            return Err(PhaseError::failed(format!(
                "{range} of {whose} overlaps the project VPC's network {vpc_cidr}; Aiven would refuse the peering (INVALID_SPECIFICATION)"
            ))
            .with_code(Code::CidrOverlap));
        }
    }
    Ok(())
}
