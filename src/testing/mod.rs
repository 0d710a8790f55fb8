//! Test support, kept in the library so that integration tests and `easgate bench` share it:
//! loopback fakes of Microsoft's cloud (Entra ID token endpoint, Graph, EWS, Autodiscover) that
//! speak the real HTTP shapes, fed from the recorded replies under fixtures/graph and
//! fixtures/ews. They bind 127.0.0.1 only. Nothing here is used by the daemon's own code paths.
//!
//! Code map: `loopback_server` (axum on 127.0.0.1:0, TLS and plain on one port),
//! `fake_graph` + `fake_graph_routes` + `fake_graph_data` (token endpoint and Graph),
//! `fake_ews` (EWS CreateItem and Autodiscover), `graph_bench` (measuring a large read).

pub mod fake_ews;
pub mod fake_graph;
pub mod fake_graph_data;
pub mod fake_graph_routes;
pub mod graph_bench;
pub mod loopback_server;
