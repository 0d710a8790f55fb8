//! Shared givens for the simulated-twin tests: an organisation on a virtual clock, runspaces
//! on it, and a device to connect.

#![allow(dead_code)]

use std::sync::Arc;

use easgate::clock::VirtualClock;
use easgate::domain::vocabulary::AccessLevel;
use easgate::exchange::cmdlets::{Cmdlet, SetAdServerSettings};
use easgate::exchange::{ExchangeConnector, ExchangeSession};
use easgate::sim::exchange::{DEFAULT_SERVICE_ACCOUNT, DeviceSpec, OrganizationSpec, SimExchange};

pub struct Given {
    pub exchange: SimExchange,
    pub clock: VirtualClock,
}

/// An organisation `contoso` with CAS1 and CAS2 and users alice and bob.
pub fn organization(default_access: AccessLevel) -> Given {
    let clock = VirtualClock::scenario_start();
    let spec = OrganizationSpec { name: "contoso".into(), cas: vec!["CAS1".into(), "CAS2".into()], default_access };
    let exchange = SimExchange::new(spec, Arc::new(clock.clone())).expect("a valid organisation");
    exchange.add_mailbox("alice@contoso.com", "alice@contoso.com").expect("a new mailbox");
    exchange.add_mailbox("bob@contoso.com", "bob@contoso.com").expect("a new mailbox");
    Given { exchange, clock }
}

pub fn iphone(device_id: &str) -> DeviceSpec {
    DeviceSpec::new(device_id, "iPhone", "iPhone15,2", "iOS 17.1")
}

pub fn android(device_id: &str) -> DeviceSpec {
    DeviceSpec::new(device_id, "Android", "SM-S918B", "Android 14")
}

/// A runspace on `server`, prepared the way easgate prepares every runspace.
pub async fn session_on(exchange: &SimExchange, server: &str) -> Box<dyn ExchangeSession> {
    let connector = exchange.connector(DEFAULT_SERVICE_ACCOUNT);
    let mut session = connector.open(server).await.expect("the server is up");
    SetAdServerSettings::view_entire_forest().run(session.as_mut()).await.expect("Set-ADServerSettings runs");
    session
}

pub async fn session(exchange: &SimExchange) -> Box<dyn ExchangeSession> {
    session_on(exchange, "CAS1").await
}
