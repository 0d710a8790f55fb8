//! The server side of parameter binding: checks a `CmdletCall` against a cmdlet's parameters
//! (unknown, duplicate, mistyped, missing) and reads typed values out of it, failing the way
//! PowerShell's binder does.

use crate::domain::cmdlet_call::{CmdletCall, ParamValue};
use crate::domain::vocabulary::{AccessLevel, Characteristic};
use crate::exchange::cmdlets::error::CmdletError;
use crate::exchange::cmdlets::values::{MultiValuedChange, ResultSize, describe};

/// A call whose parameter names were checked against a cmdlet's. Parameter names compare
/// case-insensitively, as PowerShell's do.
pub(crate) struct BoundParameters<'a> {
    cmdlet: &'static str,
    call: &'a CmdletCall,
}

impl<'a> BoundParameters<'a> {
    /// Fails on a call for another cmdlet, on a parameter not in `accepted`, and on a
    /// parameter bound twice.
    pub(crate) fn new(
        call: &'a CmdletCall,
        cmdlet: &'static str,
        accepted: &[&str],
    ) -> Result<BoundParameters<'a>, CmdletError> {
        if !call.cmdlet.eq_ignore_ascii_case(cmdlet) {
            return Err(CmdletError::UnknownCmdlet { cmdlet: call.cmdlet.clone() });
        }
        for (index, (name, _)) in call.parameters.0.iter().enumerate() {
            if !accepted.iter().any(|accepted_name| accepted_name.eq_ignore_ascii_case(name)) {
                return Err(CmdletError::UnknownParameter { cmdlet: cmdlet.to_string(), parameter: name.clone() });
            }
            let bound_before = call.parameters.0[..index].iter().any(|(earlier, _)| earlier.eq_ignore_ascii_case(name));
            if bound_before {
                return Err(CmdletError::DuplicateParameter { cmdlet: cmdlet.to_string(), parameter: name.clone() });
            }
        }
        Ok(BoundParameters { cmdlet, call })
    }

    fn convert<T>(
        &self,
        name: &str,
        expected: &str,
        convert: impl FnOnce(&ParamValue) -> Option<T>,
    ) -> Result<Option<T>, CmdletError> {
        let Some(value) = self.call.parameter(name) else {
            return Ok(None);
        };
        match convert(value) {
            Some(converted) => Ok(Some(converted)),
            None => Err(CmdletError::WrongType {
                cmdlet: self.cmdlet.to_string(),
                parameter: name.to_string(),
                value: describe(value),
                expected: expected.to_string(),
            }),
        }
    }

    pub(crate) fn missing(&self, name: &str) -> CmdletError {
        CmdletError::MissingParameter { cmdlet: self.cmdlet.to_string(), parameter: name.to_string() }
    }

    pub(crate) fn conflict(&self, first: &str, second: &str) -> CmdletError {
        CmdletError::AmbiguousParameterSet {
            cmdlet: self.cmdlet.to_string(),
            detail: format!("-{first} and -{second} belong to different parameter sets"),
        }
    }

    /// A string parameter. PowerShell converts a number to its text; anything else fails.
    pub(crate) fn text(&self, name: &str) -> Result<Option<String>, CmdletError> {
        self.convert(name, "System.String", |value| match value {
            ParamValue::Text(text) => Some(text.clone()),
            ParamValue::Int(number) => Some(number.to_string()),
            _ => None,
        })
    }

    pub(crate) fn required_text(&self, name: &str) -> Result<String, CmdletError> {
        self.text(name)?.ok_or_else(|| self.missing(name))
    }

    /// A Boolean or switch parameter: `$true`/`$false`, or the numbers 1 and 0.
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, CmdletError> {
        self.convert(name, "System.Boolean", |value| match value {
            ParamValue::Bool(flag) => Some(*flag),
            ParamValue::Int(0) => Some(false),
            ParamValue::Int(1) => Some(true),
            _ => None,
        })
    }

    /// A string array parameter: a list, or one string.
    pub(crate) fn list(&self, name: &str) -> Result<Option<Vec<String>>, CmdletError> {
        self.convert(name, "System.String[]", |value| match value {
            ParamValue::List(values) => Some(values.clone()),
            ParamValue::Text(text) => Some(vec![text.clone()]),
            _ => None,
        })
    }

    pub(crate) fn multi_valued(&self, name: &str) -> Result<Option<MultiValuedChange>, CmdletError> {
        self.convert(
            name,
            "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]",
            MultiValuedChange::from_param,
        )
    }

    pub(crate) fn result_size(&self, name: &str) -> Result<Option<ResultSize>, CmdletError> {
        self.convert(name, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]", ResultSize::from_param)
    }

    /// `Allow`, `Block` or `Quarantine` (any case), or the enum's number.
    pub(crate) fn access_level(&self, name: &str) -> Result<Option<AccessLevel>, CmdletError> {
        self.convert(name, "Microsoft.Exchange.Data.Directory.SystemConfiguration.DeviceAccessLevel", |value| {
            match value {
                ParamValue::Text(text) => AccessLevel::parse(text.trim()),
                ParamValue::Int(number) => crate::exchange::cmdlets::objects::access_level_from_number(*number),
                _ => None,
            }
        })
    }

    pub(crate) fn characteristic(&self, name: &str) -> Result<Option<Characteristic>, CmdletError> {
        self.convert(
            name,
            "Microsoft.Exchange.Data.Directory.SystemConfiguration.DeviceAccessCharacteristic",
            |value| match value {
                ParamValue::Text(text) => Characteristic::parse(text.trim()),
                ParamValue::Int(number) => crate::exchange::cmdlets::objects::characteristic_from_number(*number),
                _ => None,
            },
        )
    }

    /// `-Confirm`: destructive cmdlets prompt unless it is `$false`; over remoting a prompt is
    /// an error, so the typed cmdlets always send `-Confirm:$false`. Absent means "prompt".
    pub(crate) fn confirm(&self) -> Result<bool, CmdletError> {
        Ok(self.bool("Confirm")?.unwrap_or(true))
    }
}

/// Client-side helpers to bind optional parameters in order.
pub(crate) trait CallBuilder {
    fn optional(self, name: &str, value: Option<ParamValue>) -> CmdletCall;
    fn optional_text(self, name: &str, value: Option<&str>) -> CmdletCall;
}

impl CallBuilder for CmdletCall {
    fn optional(self, name: &str, value: Option<ParamValue>) -> CmdletCall {
        match value {
            Some(value) => self.with(name, value),
            None => self,
        }
    }

    fn optional_text(self, name: &str, value: Option<&str>) -> CmdletCall {
        self.optional(name, value.map(|text| ParamValue::Text(text.to_string())))
    }
}
