//! Which project VPC a VNet peers with when none is named: the project's single active VPC in
//! the VNet's Azure region.

use super::RequestPeering;
use crate::catalog::Code;
use crate::error::PhaseError;
use aiven_api::Aiven;

pub(super) async fn resolve_vpc(
    aiven: &Aiven,
    request: &RequestPeering,
) -> Result<String, PhaseError> {
    if let Some(id) = &request.project_vpc_id {
        return Ok(id.clone());
    }
    let vpcs = aiven
        .vpcs(&request.project)
        .await
        .map_err(|error| match error.status() {
            Some(404) | Some(403) => PhaseError::input(
                "--project",
                format!(
                    "project {} not found or not accessible with this token: {error}",
                    request.project
                ),
            )
            .with_code(Code::AivenProjectNotFound),
            _ => error.into(),
        })?;
    let location = request
        .vnet_location
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let wanted_cloud = format!("azure-{location}");
    let matching: Vec<_> = vpcs
        .iter()
        .filter(|vpc| vpc.cloud_name.eq_ignore_ascii_case(&wanted_cloud) && vpc.state == "ACTIVE")
        .collect();
    match matching.as_slice() {
        [single] => Ok(single.project_vpc_id.clone()),
        [] => Err(PhaseError::input(
            "--project-vpc-id",
            format!(
                "project {} has no active VPC in {wanted_cloud}; create one or pass --project-vpc-id",
                request.project
            ),
        )
        .with_code(Code::AivenVpcNotFound)),
        several => Err(PhaseError::input(
            "--project-vpc-id",
            format!(
                "project {} has {} VPCs in {wanted_cloud} ({}); pass --project-vpc-id",
                request.project,
                several.len(),
                several
                    .iter()
                    .map(|vpc| vpc.project_vpc_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_code(Code::AivenVpcNotFound)),
    }
}
