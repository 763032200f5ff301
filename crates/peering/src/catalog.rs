//! The error catalog: every known failure of the procedure with a stable code, its cause and
//! its fix. A failing phase prints the entry of its error; `--explain CODE` prints one entry;
//! `docs/errors.md` is generated from [`CATALOG`] by `cargo xtask codegen`, so the two cannot
//! drift. Codes are a contract with users (they search for them): add, never rename.

/// One known failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub code: Code,
    /// The stable text of the code, `AZP-<AREA>-<WHAT>`.
    pub id: &'static str,
    /// What happened, in a few words.
    pub title: &'static str,
    /// Why it happens.
    pub cause: &'static str,
    /// What to do about it.
    pub fix: &'static str,
}

macro_rules! catalog {
    ($( $variant:ident => $id:literal, $title:literal,
        cause: $cause:literal, fix: $fix:literal; )*) => {
        /// A known failure; [`Code::entry`] gives its text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $( $variant, )* }

        /// Every entry, in the order `docs/errors.md` lists them.
        pub static CATALOG: &[Entry] = &[
            $( Entry { code: Code::$variant, id: $id, title: $title, cause: $cause, fix: $fix }, )*
        ];
    };
}

catalog! {
    InputInvalid => "AZP-INPUT-INVALID", "invalid input",
        cause: "A flag, its PEERING_ environment variable or the state file holds a value the tool cannot use, or a required value is missing. Nothing was changed.",
        fix: "Correct the input the message names and re-run.";
    StateFileOtherVnet => "AZP-INPUT-STATE-OTHER-VNET", "the state file belongs to another VNet",
        cause: "A state file records one VNet's procedure; the flags name a different VNet, so its objects would be mixed into the wrong file.",
        fix: "Use one state file per VNet: pass the state file of the VNet the flags name, or a new file.";
    WaitTimedOut => "AZP-WAIT-TIMED-OUT", "timed out while waiting",
        cause: "A remote state did not converge within the phase's time limit (replication, role propagation, Aiven's state machine, a long-running ARM operation). Nothing is broken by stopping here.",
        fix: "Re-run the phase to keep waiting, or raise its --timeout (or --replication-timeout); the message names the last answer seen.";
    SubscriptionNotFound => "AZP-AZURE-SUBSCRIPTION-NOT-FOUND", "the subscription is not visible",
        cause: "The subscription does not exist, or the admin identity has no role on it, or it belongs to another tenant than AZURE_TENANT_ID.",
        fix: "Check --subscription-id and give the admin identity a role on the subscription (Owner, or User Access Administrator plus Network Contributor).";
    VnetNotFound => "AZP-AZURE-VNET-NOT-FOUND", "the VNet does not exist",
        cause: "No virtual network of that name exists in that resource group of that subscription (names are case-insensitive, so this is not a case problem).",
        fix: "Check --resource-group and --vnet-name (or --vnet-id) against `az network vnet list`.";
    ApplicationAdministratorRequired => "AZP-GRAPH-APP-ADMIN-REQUIRED", "the admin cannot create a service principal for Aiven's app",
        cause: "Creating a service principal for another tenant's multi-tenant application needs an active Application Administrator, Cloud Application Administrator or Global Administrator directory role, or, for an app-only caller, the Microsoft Graph application permission Application.ReadWrite.All. prepare-tenant reads the admin identity's roles and permissions before its first write and stops when none is held; otherwise Graph refuses the write with 403.",
        fix: "Assign the admin identity Application Administrator or Cloud Application Administrator in your tenant (Entra ID > Roles and administrators; activate it if it is PIM-eligible), or grant its service principal Application.ReadWrite.All on Microsoft Graph with admin consent, then re-run prepare-tenant.";
    AppNameAmbiguous => "AZP-GRAPH-APP-NAME-AMBIGUOUS", "several app registrations have the name",
        cause: "Display names of app registrations are not unique; the tool cannot tell which one is meant.",
        fix: "Name the one to use with --app-id, delete the extra app registrations, or choose another --app-name.";
    AppOwnedByOthers => "AZP-GRAPH-APP-NOT-ADMINS", "an app registration of that name is owned by someone else",
        cause: "An app registration has the name the tool would use, but its owners are not the admin identity alone. Any member of the tenant may register an app with a predictable name, and the app would get peering rights on the VNet, so it is not adopted.",
        fix: "Choose another --app-name, or, if you trust the app and its owners, adopt it by naming it with --app-id.";
    FederatedCredentialLimit => "AZP-GRAPH-FEDERATED-LIMIT", "the app has the most federated credentials Graph allows",
        cause: "An application may hold at most 20 federated identity credentials.",
        fix: "Remove federated credentials the app no longer needs (`az ad app federated-credential delete`), then re-run.";
    RoleWriteDenied => "AZP-ARM-ROLE-WRITE-DENIED", "the admin cannot write roles or role assignments",
        cause: "Creating the custom roles and assigning them needs Microsoft.Authorization/roleDefinitions/write and roleAssignments/write at the VNet's subscription; the admin identity lacks them.",
        fix: "Give the admin identity Owner or User Access Administrator on the subscription (or the VNet's resource group and the subscription for the role definitions), then re-run prepare-tenant.";
    RoleLacksActions => "AZP-ARM-ROLE-LACKS-ACTIONS", "a custom role of that name exists without the needed actions",
        cause: "Role names are unique per tenant; a role with the requested name already exists but does not grant what the phase needs.",
        fix: "Choose another --aiven-role-name or --user-role-name, or add the missing actions to the existing role.";
    RoleWider => "AZP-ARM-ROLE-WIDER", "a custom role of that name grants more than needed",
        cause: "Role names are unique per tenant; a role with the requested name exists and grants more than the phase needs (other actions, or data actions). Another team's role is never reused or rewritten silently.",
        fix: "Choose another --aiven-role-name or --user-role-name, or, if the wider role is meant to be used, re-run with --accept-wider-role.";
    RoleNotVisible => "AZP-ARM-ROLE-NOT-VISIBLE", "a custom role of that name exists where the admin cannot see it",
        cause: "ARM refused the new role with RoleDefinitionWithSameNameExists, yet no subscription the admin identity can read lists a role of that name: it is assignable only in subscriptions the admin cannot read.",
        fix: "Give the admin identity Reader on the subscription that holds the role so that it can be found and reused, or choose another --aiven-role-name or --user-role-name.";
    RoleNotEffective => "AZP-ARM-ROLE-NOT-EFFECTIVE", "the app's role on the VNet does not take effect",
        cause: "ARM answered AuthorizationFailed to the app's peering request for as long as the phase waited: role assignments take up to about 10 minutes to apply, or the assignment is missing.",
        fix: "Re-run accept-peering; if it persists, run prepare-tenant (it restores the app's role assignment on the VNet).";
    LinkedAuthorizationFailed => "AZP-ARM-LINKED-AUTHORIZATION", "Aiven's VNet does not accept the peering",
        cause: "ARM answered LinkedAuthorizationFailed: the auxiliary token for Aiven's tenant was refused, or Aiven has not (yet) granted your app peer/action on its VNet.",
        fix: "Check that the Aiven connection is PENDING_PEER (status), wait a few minutes and re-run accept-peering; if it persists, re-create the connection with request-peering --recreate.";
    RemoteDisconnected => "AZP-ARM-REMOTE-DISCONNECTED", "Aiven's side of the peering is Disconnected",
        cause: "Your side of the peering was deleted at some point, which left Aiven's side Disconnected; Azure refuses to connect to a Disconnected peering.",
        fix: "Re-create the Aiven connection with request-peering --recreate, then run accept-peering again.";
    SecretExpired => "AZP-AUTH-SECRET-EXPIRED", "the app's password has expired",
        cause: "The identity platform answered AADSTS7000222: the client secret used to sign in has passed its end date.",
        fix: "Rotate it: re-run prepare-tenant --store-secret-in (stored mode), or use --credential ephemeral or federated.";
    GitHubSecretsDenied => "AZP-GITHUB-SECRETS-DENIED", "the GitHub token cannot write Actions secrets",
        cause: "The workflow's default GITHUB_TOKEN (or the token given) has no permission to write Actions secrets.",
        fix: "Pass a fine-grained token or a GitHub App token with Secrets: read and write in PEERING_GITHUB_TOKEN.";
    AivenProjectNotFound => "AZP-AIVEN-PROJECT-NOT-FOUND", "the Aiven project is not accessible",
        cause: "The project does not exist, or the Aiven token has no access to it.",
        fix: "Check --project and the token (`avn project list`).";
    AivenVpcNotFound => "AZP-AIVEN-VPC-NOT-FOUND", "no single project VPC to peer with",
        cause: "The project VPC id does not exist, or, without --project-vpc-id, the project has none or several active VPCs in the VNet's region.",
        fix: "Pass --project-vpc-id (`avn vpc list --project P`), or create a project VPC in the VNet's region.";
    AivenVpcNotUsable => "AZP-AIVEN-VPC-NOT-USABLE", "the project VPC cannot take an Azure peering",
        cause: "The project VPC is not ACTIVE yet, or it is in another cloud than Azure.",
        fix: "Wait until the VPC is ACTIVE, or pass the id of an Azure project VPC with --project-vpc-id.";
    CidrOverlap => "AZP-AIVEN-CIDR-OVERLAP", "the address ranges overlap",
        cause: "The project VPC's network_cidr overlaps the VNet's address space or --user-peer-network-cidrs; Aiven would answer INVALID_SPECIFICATION.",
        fix: "Peer with a project VPC whose range does not overlap (create one with another --network-cidr), or change the VNet's address space.";
    InvalidSpecification => "AZP-AIVEN-INVALID-SPEC", "Aiven found the peering request invalid",
        cause: "Aiven's connection is INVALID_SPECIFICATION: the VNet or resource group name is wrong, the Aiven app's service principal lacks peer/action on the VNet, your app is missing or not multi-tenant, or the address ranges overlap. state_info.message says which.",
        fix: "Fix the cause the message names, then re-run request-peering --recreate (an invalid connection must be deleted and re-created).";
    ConnectionFailed => "AZP-AIVEN-CONNECTION-FAILED", "the Aiven connection failed",
        cause: "Aiven's connection is REJECTED_BY_PEER, DELETED_BY_PEER or ERROR: waiting will not change it.",
        fix: "Check the VNet and the Aiven app's role, then re-create the connection with request-peering --recreate.";
    ConnectionMissing => "AZP-AIVEN-CONNECTION-MISSING", "there is no Aiven connection for the VNet",
        cause: "The project VPC has no live peering connection to this VNet: request-peering has not run, or the connection was deleted.",
        fix: "Run request-peering.";
    AivenGrantMissing => "AZP-ARM-AIVEN-GRANT-MISSING", "Aiven's service principal holds no peer/action on the VNet",
        cause: "Aiven peers its VNet with yours as its app's service principal in your tenant; without a role assignment at or above the VNet whose role grants Microsoft.Network/virtualNetworks/peer/action, Aiven answers INVALID_SPECIFICATION minutes later.",
        fix: "Run prepare-tenant (it creates the service principal, the peer/action role and its assignment), then re-run request-peering.";
    ConnectionNotReady => "AZP-AIVEN-CONNECTION-NOT-READY", "Aiven's side of the peering is not ready",
        cause: "accept-peering needs Aiven's connection in PENDING_PEER (or ACTIVE): only then has Aiven created its VNet, its tenant's service principal for your app and the grant your peering needs.",
        fix: "Run request-peering (it waits for PENDING_PEER), then accept-peering.";
}

impl Code {
    /// This code's entry.
    pub fn entry(self) -> &'static Entry {
        CATALOG
            .iter()
            .find(|entry| entry.code == self)
            .expect("every code has an entry")
    }

    /// The stable text, `AZP-…`.
    pub fn id(self) -> &'static str {
        self.entry().id
    }

    /// The entry with this text (any case).
    pub fn from_id(id: &str) -> Option<Code> {
        CATALOG
            .iter()
            .find(|entry| entry.id.eq_ignore_ascii_case(id.trim()))
            .map(|entry| entry.code)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.id())
    }
}

impl Entry {
    /// The entry as `--explain` prints it.
    pub fn explain(&self) -> String {
        format!(
            "{}: {}\n\ncause: {}\nfix: {}\n",
            self.id, self.title, self.cause, self.fix
        )
    }
}

/// What `--explain CODE` prints, or the list of codes when there is no such code.
pub fn explain(id: &str) -> Result<String, String> {
    match Code::from_id(id) {
        Some(code) => Ok(code.entry().explain()),
        None => Err(format!(
            "{id:?} is not an error code of this tool; the codes are:\n{}",
            CATALOG
                .iter()
                .map(|entry| format!("  {}  {}", entry.id, entry.title))
                .collect::<Vec<_>>()
                .join("\n")
        )),
    }
}

/// `docs/errors.md`, generated from the catalog.
pub fn markdown() -> String {
    let mut text = String::from(
        "# Error codes\n\n<!-- Generated by `cargo xtask codegen` from crates/peering/src/catalog.rs: do not edit by hand. -->\n\n\
         Every known failure prints one of these codes with its cause and fix; \
         `<binary> --explain CODE` prints the entry.\n\n| code | what happened |\n|---|---|\n",
    );
    for entry in CATALOG {
        let anchor = entry.id.to_ascii_lowercase();
        text.push_str(&format!(
            "| [`{}`](#{anchor}) | {} |\n",
            entry.id, entry.title
        ));
    }
    for entry in CATALOG {
        text.push_str(&format!(
            "\n## {}\n\n{}.\n\n**Cause.** {}\n\n**Fix.** {}\n",
            entry.id,
            capitalised(entry.title),
            entry.cause,
            entry.fix
        ));
    }
    text
}

fn capitalised(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = CATALOG.iter().map(|entry| entry.id).collect();
        for id in &ids {
            assert!(id.starts_with("AZP-"), "{id}");
            assert!(
                id.chars()
                    .all(|character| character.is_ascii_uppercase() || character == '-'),
                "{id}"
            );
            assert_eq!(
                Code::from_id(&id.to_ascii_lowercase()).map(Code::id),
                Some(*id)
            );
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CATALOG.len());
    }

    #[test]
    fn explain_prints_the_entry_or_the_list() {
        let text = explain("azp-aiven-invalid-spec").unwrap();
        assert!(text.starts_with("AZP-AIVEN-INVALID-SPEC: "), "{text}");
        assert!(
            text.contains("\ncause: ") && text.contains("\nfix: "),
            "{text}"
        );
        let unknown = explain("AZP-NOPE").unwrap_err();
        assert!(unknown.contains("AZP-WAIT-TIMED-OUT"), "{unknown}");
    }
}
