//! `Set-ADServerSettings`: per-runspace directory scope. Every new runspace first runs
//! `-ViewEntireForest $true`, otherwise reads see only the CAS's own domain (DESIGN section 3).

use crate::domain::cmdlet_call::ParamValue;
use crate::exchange::CmdletCall;
use crate::exchange::cmdlets::binding::{BoundParameters, CallBuilder};
use crate::exchange::cmdlets::{Cmdlet, CmdletError, NoOutput};

/// `Set-ADServerSettings -ViewEntireForest <bool>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetAdServerSettings {
    pub view_entire_forest: Option<bool>,
}

impl SetAdServerSettings {
    /// `-ViewEntireForest $true`.
    pub fn view_entire_forest() -> SetAdServerSettings {
        SetAdServerSettings { view_entire_forest: Some(true) }
    }
}

impl Cmdlet for SetAdServerSettings {
    const NAME: &'static str = "Set-ADServerSettings";
    type Output = NoOutput;

    fn into_call(&self) -> CmdletCall {
        CmdletCall::new(Self::NAME).optional("ViewEntireForest", self.view_entire_forest.map(ParamValue::Bool))
    }

    fn from_call(call: &CmdletCall) -> Result<SetAdServerSettings, CmdletError> {
        let parameters = BoundParameters::new(call, Self::NAME, &["ViewEntireForest"])?;
        Ok(SetAdServerSettings { view_entire_forest: parameters.bool("ViewEntireForest")? })
    }
}
