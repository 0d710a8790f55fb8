//! Parameter value types shared by several cmdlets: `-ResultSize` and multi-valued properties.

use crate::domain::cmdlet_call::{ListEdit, ParamValue};

/// `-ResultSize`: a number of objects or `Unlimited`. Exchange's default is 1000, so easgate
/// always passes `Unlimited` when it means everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultSize {
    Unlimited,
    Limit(u32),
}

impl ResultSize {
    /// What Exchange returns when `-ResultSize` is not given.
    pub const EXCHANGE_DEFAULT: ResultSize = ResultSize::Limit(1000);

    /// The most objects to return, `None` for no limit.
    pub fn limit(self) -> Option<usize> {
        match self {
            ResultSize::Unlimited => None,
            ResultSize::Limit(count) => Some(count as usize),
        }
    }

    /// As PowerShell binds it: the string `Unlimited` or an integer.
    pub fn to_param(self) -> ParamValue {
        match self {
            ResultSize::Unlimited => ParamValue::Text("Unlimited".to_string()),
            ResultSize::Limit(count) => ParamValue::Int(i64::from(count)),
        }
    }

    /// Accepts `Unlimited` (any case), an integer, or an integer as text.
    pub fn from_param(value: &ParamValue) -> Option<ResultSize> {
        match value {
            ParamValue::Text(text) if text.eq_ignore_ascii_case("unlimited") => Some(ResultSize::Unlimited),
            ParamValue::Text(text) => text.trim().parse::<u32>().ok().map(ResultSize::Limit),
            ParamValue::Int(count) => u32::try_from(*count).ok().map(ResultSize::Limit),
            _ => None,
        }
    }
}

/// A new value for a multi-valued property: the whole list (`v1,v2`; an empty list clears it)
/// or the incremental form `@{Add=...; Remove=...}`, which easgate uses so that a retry never
/// clobbers an admin's concurrent edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiValuedChange {
    Replace(Vec<String>),
    Edit(ListEdit),
}

impl MultiValuedChange {
    pub fn add(values: &[&str]) -> MultiValuedChange {
        MultiValuedChange::Edit(ListEdit { add: values.iter().map(|v| v.to_string()).collect(), remove: Vec::new() })
    }

    pub fn remove(values: &[&str]) -> MultiValuedChange {
        MultiValuedChange::Edit(ListEdit { add: Vec::new(), remove: values.iter().map(|v| v.to_string()).collect() })
    }

    pub fn to_param(&self) -> ParamValue {
        match self {
            MultiValuedChange::Replace(values) => ParamValue::List(values.clone()),
            MultiValuedChange::Edit(edit) => ParamValue::Edit(edit.clone()),
        }
    }

    /// A list or a single string replaces; a Hashtable edits.
    pub fn from_param(value: &ParamValue) -> Option<MultiValuedChange> {
        match value {
            ParamValue::List(values) => Some(MultiValuedChange::Replace(values.clone())),
            ParamValue::Text(text) => Some(MultiValuedChange::Replace(vec![text.clone()])),
            ParamValue::Edit(edit) => Some(MultiValuedChange::Edit(edit.clone())),
            ParamValue::Bool(_) | ParamValue::Int(_) => None,
        }
    }

    /// Applies the change to `current`, comparing case-insensitively (Exchange's DeviceId
    /// semantics): an Add of a present value and a Remove of an absent one change nothing.
    /// Returns whether the list changed.
    pub fn apply_to(&self, current: &mut Vec<String>) -> bool {
        let before = current.clone();
        match self {
            MultiValuedChange::Replace(values) => {
                current.clear();
                for value in values {
                    push_unique(current, value);
                }
            }
            MultiValuedChange::Edit(edit) => {
                current.retain(|entry| !edit.remove.iter().any(|removed| removed.eq_ignore_ascii_case(entry)));
                for value in &edit.add {
                    push_unique(current, value);
                }
            }
        }
        *current != before
    }
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|entry| entry.eq_ignore_ascii_case(value)) {
        list.push(value.to_string());
    }
}

/// How a value looks in an error message (PowerShell prints the value it could not convert).
pub(crate) fn describe(value: &ParamValue) -> String {
    match value {
        ParamValue::Bool(value) => if *value { "True" } else { "False" }.to_string(),
        ParamValue::Int(value) => value.to_string(),
        ParamValue::Text(text) => text.clone(),
        ParamValue::List(values) => values.join(" "),
        ParamValue::Edit(_) => "System.Collections.Hashtable".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_case_insensitive_and_idempotent() {
        let mut list = vec!["ApplA".to_string()];
        let edit = MultiValuedChange::Edit(ListEdit { add: vec!["appla".into(), "B".into()], remove: vec![] });
        assert!(edit.apply_to(&mut list));
        assert_eq!(list, vec!["ApplA".to_string(), "B".to_string()]);
        assert!(!edit.apply_to(&mut list), "adding again changes nothing");
        assert!(MultiValuedChange::remove(&["APPLA"]).apply_to(&mut list));
        assert_eq!(list, vec!["B".to_string()]);
        assert!(!MultiValuedChange::remove(&["absent"]).apply_to(&mut list));
    }

    #[test]
    fn result_size_binds_like_powershell() {
        assert_eq!(ResultSize::from_param(&ParamValue::Text("unlimited".into())), Some(ResultSize::Unlimited));
        assert_eq!(ResultSize::from_param(&ParamValue::Int(5)), Some(ResultSize::Limit(5)));
        assert_eq!(ResultSize::from_param(&ParamValue::Text("12".into())), Some(ResultSize::Limit(12)));
        assert_eq!(ResultSize::from_param(&ParamValue::Int(-1)), None);
        assert_eq!(ResultSize::from_param(&ParamValue::Bool(true)), None);
    }
}
