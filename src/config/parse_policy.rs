//! Reads `<Policy>`: `Source="Graph"` (empty), or `Source="Local"` with the DESIGN section-2
//! fields written out. The local shape (documented in fixtures/config/easgate.example.xml):
//!
//! ```xml
//! <Policy Source="Local">
//!   <Enabled>true</Enabled>                              <!-- required -->
//!   <IncludedGroups><Group>GROUP-ID</Group>...</IncludedGroups>
//!   <ExcludedGroups><Group>GROUP-ID</Group>...</ExcludedGroups>
//!   <DefaultAccessLevel>Quarantine</DefaultAccessLevel>  <!-- required: Allow | Block | Quarantine -->
//!   <OverrideDefaultRule>false</OverrideDefaultRule>     <!-- default false -->
//!   <AccessRules>
//!     <AccessRule DeviceClass="iPhone" Type="Family" AccessLevel="Allow"/>  <!-- Family | Model -->
//!   </AccessRules>
//!   <NotificationContentFile>/etc/easgate/notification.html</NotificationContentFile>
//!   <!-- or <NotificationContent><![CDATA[<p>...</p>]]></NotificationContent>; neither: easgate's template -->
//! </Policy>
//! ```

use std::path::PathBuf;

use crate::config::error::ConfigError;
use crate::config::model::{LocalPolicy, NotificationContent, PolicySource};
use crate::config::node::{Node, choice, expected_one_of};
use crate::domain::event::PolicyAccessRule;
use crate::domain::vocabulary::{AccessLevel, RuleMatch};

/// The most groups per list and rules per policy.
pub const MAX_POLICY_ITEMS: usize = 1_000;

const ACCESS_LEVELS: [(&str, AccessLevel); 3] =
    [("Allow", AccessLevel::Allow), ("Block", AccessLevel::Block), ("Quarantine", AccessLevel::Quarantine)];

pub fn read_policy(node: Node) -> Result<PolicySource, ConfigError> {
    let source = node.attribute("Source").ok_or_else(|| node.error("attribute Source is missing (Graph | Local)"))?;
    match source.value.as_str() {
        "Graph" => {
            node.check_shape(&[], &["Source"], false)?;
            Ok(PolicySource::Graph)
        }
        "Local" => read_local_policy(node).map(PolicySource::Local),
        other => Err(node.attribute_error(source, format!("{other:?} is not one of Graph, Local"))),
    }
}

fn read_local_policy(node: Node) -> Result<LocalPolicy, ConfigError> {
    node.check_shape(
        &[
            "Enabled",
            "IncludedGroups",
            "ExcludedGroups",
            "DefaultAccessLevel",
            "OverrideDefaultRule",
            "AccessRules",
            "NotificationContent",
            "NotificationContentFile",
        ],
        &["Source"],
        false,
    )?;
    let enabled = node.required_child("Enabled")?.bool_value()?;
    let included_groups = node.child("IncludedGroups")?.map(read_groups).transpose()?.unwrap_or_default();
    let excluded_groups = node.child("ExcludedGroups")?.map(read_groups).transpose()?.unwrap_or_default();
    let default_access = node.required_child("DefaultAccessLevel")?.choice_value(&ACCESS_LEVELS)?;
    let override_default_rule =
        node.child("OverrideDefaultRule")?.map(|child| child.bool_value()).transpose()?.unwrap_or(false);
    let access_rules = node.child("AccessRules")?.map(read_access_rules).transpose()?.unwrap_or_default();
    let notification = match (node.child("NotificationContent")?, node.child("NotificationContentFile")?) {
        (Some(_), Some(file)) => {
            return Err(file.error("give either <NotificationContent> or <NotificationContentFile>, not both"));
        }
        (Some(content), None) => NotificationContent::Inline(content.leaf_text()?.to_string()),
        (None, Some(file)) => NotificationContent::File(PathBuf::from(file.leaf_text()?)),
        (None, None) => NotificationContent::Default,
    };
    Ok(LocalPolicy {
        enabled,
        included_groups,
        excluded_groups,
        default_access,
        override_default_rule,
        access_rules,
        notification,
    })
}

fn read_groups(node: Node) -> Result<Vec<String>, ConfigError> {
    node.check_shape(&["Group"], &[], false)?;
    let mut groups: Vec<String> = Vec::new();
    for group in node.children("Group") {
        let id = group.leaf_text()?.to_string();
        if groups.contains(&id) {
            return Err(group.value_error(format!("group {id:?} is listed twice")));
        }
        if groups.len() == MAX_POLICY_ITEMS {
            return Err(group.error(format!("more than {MAX_POLICY_ITEMS} groups")));
        }
        groups.push(id);
    }
    Ok(groups)
}

fn read_access_rules(node: Node) -> Result<Vec<PolicyAccessRule>, ConfigError> {
    node.check_shape(&["AccessRule"], &[], false)?;
    let mut rules = Vec::new();
    for rule in node.children("AccessRule") {
        if rules.len() == MAX_POLICY_ITEMS {
            return Err(rule.error(format!("more than {MAX_POLICY_ITEMS} access rules")));
        }
        rules.push(read_access_rule(rule)?);
    }
    Ok(rules)
}

fn read_access_rule(node: Node) -> Result<PolicyAccessRule, ConfigError> {
    node.check_shape(&[], &["DeviceClass", "Type", "AccessLevel"], false)?;
    let required = |name: &str| {
        node.attribute(name)
            .filter(|attribute| !attribute.value.trim().is_empty())
            .ok_or_else(|| node.error(format!("attribute {name} is missing")))
    };
    let device_class = required("DeviceClass")?.value.trim().to_string();
    let type_attribute = required("Type")?;
    let match_choices = [("Family", RuleMatch::Family), ("Model", RuleMatch::Model)];
    let rule_match = choice(type_attribute.value.trim(), &match_choices)
        .ok_or_else(|| node.attribute_error(type_attribute, expected_one_of(&type_attribute.value, &match_choices)))?;
    let level_attribute = required("AccessLevel")?;
    let access = choice(level_attribute.value.trim(), &ACCESS_LEVELS).ok_or_else(|| {
        node.attribute_error(level_attribute, expected_one_of(&level_attribute.value, &ACCESS_LEVELS))
    })?;
    Ok(PolicyAccessRule { device_class, rule_match, access })
}

/// The largest notification HTML file easgate reads.
pub const MAX_NOTIFICATION_BYTES: u64 = 256 * 1024;

impl LocalPolicy {
    /// The policy as the tenant adapters report it (the notification file read now; an empty
    /// notification means easgate's template).
    pub fn to_tenant_policy(&self) -> Result<crate::tenant::TenantPolicy, ConfigError> {
        let notification = match &self.notification {
            NotificationContent::Default => String::new(),
            NotificationContent::Inline(html) => html.clone(),
            NotificationContent::File(path) => read_notification_file(path)?,
        };
        Ok(crate::tenant::TenantPolicy {
            enabled: self.enabled,
            included_groups: self.included_groups.clone(),
            excluded_groups: self.excluded_groups.clone(),
            default_access: self.default_access,
            override_default_rule: self.override_default_rule,
            access_rules: self.access_rules.clone(),
            notification,
        })
    }
}

pub fn read_notification_file(path: &std::path::Path) -> Result<String, ConfigError> {
    let unreadable = |detail: String| ConfigError::Unreadable { path: path.display().to_string(), detail };
    let metadata = std::fs::metadata(path).map_err(|error| unreadable(error.to_string()))?;
    if metadata.len() > MAX_NOTIFICATION_BYTES {
        return Err(unreadable(format!("larger than {MAX_NOTIFICATION_BYTES} bytes")));
    }
    std::fs::read_to_string(path).map_err(|error| unreadable(error.to_string()))
}
