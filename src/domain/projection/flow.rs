//! The ten steps of DESIGN section 1: their names and the rules that move a device along them.

/// Step numbers, 1 to 10.
pub const ACCESS_ATTEMPTED: u8 = 1;
pub const BLOCKED_UNMANAGED: u8 = 2;
pub const QUARANTINED: u8 = 3;
pub const WORKPLACE_JOINED: u8 = 4;
pub const ENROLLED: u8 = 5;
pub const MAPPED: u8 = 6;
pub const EAS_ID_REGISTERED: u8 = 7;
pub const DEVICE_STATE_RECORDED: u8 = 8;
pub const ALLOW_ISSUED: u8 = 9;
pub const ACCESS_GRANTED: u8 = 10;

const NAMES: [&str; 10] = [
    "access_attempted",
    "blocked_unmanaged",
    "quarantined",
    "workplace_joined",
    "enrolled",
    "mapped",
    "eas_id_registered",
    "device_state_recorded",
    "allow_issued",
    "access_granted",
];

/// The `flow_step_name` of a step; step 0 (nothing yet) has none.
pub fn step_name(step: u8) -> Option<&'static str> {
    usize::from(step).checked_sub(1).and_then(|index| NAMES.get(index)).copied()
}

/// A step given as its number ("3") or its name ("quarantined").
pub fn parse_step(text: &str) -> Option<u8> {
    if let Ok(number) = text.parse::<u8>() {
        return (1..=10).contains(&number).then_some(number);
    }
    NAMES.iter().position(|name| *name == text).and_then(|index| u8::try_from(index + 1).ok())
}

/// What the tenant knows about a device, for the steps it reaches by facts (4 to 8).
#[derive(Debug, Clone, Copy, Default)]
pub struct TenantFacts {
    pub registered: bool,
    pub enrolled: bool,
    pub mapped: bool,
    pub eas_id_registered: bool,
    pub compliance_known: bool,
}

/// The furthest of steps 4 to 8 these facts reach (0 when none).
pub fn facts_step(facts: TenantFacts) -> u8 {
    if facts.mapped && facts.eas_id_registered && facts.registered && facts.compliance_known {
        DEVICE_STATE_RECORDED
    } else if facts.mapped && facts.eas_id_registered {
        EAS_ID_REGISTERED
    } else if facts.mapped {
        MAPPED
    } else if facts.enrolled {
        ENROLLED
    } else if facts.registered {
        WORKPLACE_JOINED
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_by_number_or_name() {
        assert_eq!(parse_step("3"), Some(QUARANTINED));
        assert_eq!(parse_step("access_granted"), Some(ACCESS_GRANTED));
        assert_eq!(parse_step("11"), None);
        assert_eq!(parse_step("granted"), None);
        assert_eq!(step_name(0), None);
        assert_eq!(step_name(7), Some("eas_id_registered"));
    }

    #[test]
    fn facts_reach_the_furthest_step_they_support() {
        let mut facts = TenantFacts { registered: true, ..TenantFacts::default() };
        assert_eq!(facts_step(facts), WORKPLACE_JOINED);
        facts.enrolled = true;
        assert_eq!(facts_step(facts), ENROLLED);
        facts.mapped = true;
        facts.compliance_known = true;
        assert_eq!(facts_step(facts), MAPPED);
        facts.eas_id_registered = true;
        assert_eq!(facts_step(facts), DEVICE_STATE_RECORDED);
    }
}
