//! Which project VPC a VNet peers with when none is named: the project's single active VPC in
//! the VNet's Azure region, the Aiven cloud name read from the project's VPCs.

use super::RequestPeering;
use crate::catalog::Code;
use crate::error::PhaseError;
use aiven_api::Aiven;

/// Whether an Aiven cloud is the given Azure region. Aiven's cloud names are not always
/// `azure-` + the location (`azure-germany-westcentral` is `germanywestcentral`), so the
/// letters and digits after `azure-` are compared.
pub(super) fn cloud_is_region(cloud_name: &str, location: &str) -> bool {
    let letters = |text: &str| -> String {
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|character| character.to_ascii_lowercase())
            .collect()
    };
    let Some(region) = cloud_name
        .get(..6)
        .filter(|prefix| prefix.eq_ignore_ascii_case("azure-"))
        .map(|_| &cloud_name[6..])
    else {
        return false;
    };
    !location.trim().is_empty() && letters(region) == letters(location)
}

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
    let location = request.vnet_location.clone().unwrap_or_default();
    let matching: Vec<_> = vpcs
        .iter()
        .filter(|vpc| cloud_is_region(&vpc.cloud_name, &location) && vpc.state == "ACTIVE")
        .collect();
    match matching.as_slice() {
        [single] => Ok(single.project_vpc_id.clone()),
        [] => Err(PhaseError::input(
            "--project-vpc-id",
            format!(
                "project {} has no active VPC in Azure region {location:?} (its VPCs are in {}); create one or pass --project-vpc-id",
                request.project,
                vpcs.iter()
                    .map(|vpc| vpc.cloud_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_code(Code::AivenVpcNotFound)),
        several => Err(PhaseError::input(
            "--project-vpc-id",
            format!(
                "project {} has {} VPCs in Azure region {location} ({}); pass --project-vpc-id",
                request.project,
                several.len(),
                several
                    .iter()
                    .map(|vpc| format!("{} in {}", vpc.project_vpc_id, vpc.cloud_name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_code(Code::AivenVpcNotFound)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: the VPC was looked for in "azure-" + the location.
    #[test]
    fn aiven_cloud_names_match_azure_regions_by_their_letters() {
        assert!(cloud_is_region("azure-westeurope", "westeurope"));
        assert!(cloud_is_region(
            "azure-germany-westcentral",
            "germanywestcentral"
        ));
        assert!(cloud_is_region("Azure-West-Europe", "WestEurope"));
        assert!(!cloud_is_region("azure-westeurope", "northeurope"));
        assert!(!cloud_is_region("aws-westeurope", "westeurope"));
        assert!(!cloud_is_region("azure-", ""));
    }
}
