//! Shared setup of the Graph adapter tests: a fake Graph, a secret file, a virtual clock.

#![allow(dead_code)]

use std::sync::Arc;

use easgate::clock::{Clock, VirtualClock};
use easgate::config::SecretSource;
use easgate::config::model::GraphCredential;
use easgate::graph::{GraphSettings, GraphTenant, PolicyOrigin};
use easgate::testing::fake_graph::{FAKE_CLIENT_SECRET, FakeGraph, FakeGraphOptions};
use easgate::testing::fake_graph_data::FakeTenantData;

pub struct Setup {
    pub fake: FakeGraph,
    pub clock: VirtualClock,
    pub secrets: tempfile::TempDir,
}

pub async fn start(options: FakeGraphOptions) -> Setup {
    let fake = FakeGraph::start(options).await.expect("fake Graph starts on loopback");
    Setup { fake, clock: VirtualClock::scenario_start(), secrets: tempfile::tempdir().expect("temp dir") }
}

pub async fn start_contoso() -> Setup {
    start(FakeGraphOptions::new(FakeTenantData::contoso())).await
}

impl Setup {
    pub fn secret_file(&self, secret: &str) -> GraphCredential {
        let path = self.secrets.path().join(format!("secret-{}", secret.len()));
        std::fs::write(&path, format!("{secret}\n")).expect("write secret");
        GraphCredential::ClientSecret(SecretSource::File(path))
    }

    pub fn settings(&self, credential: GraphCredential) -> GraphSettings {
        self.fake.graph_settings(credential, PolicyOrigin::Graph)
    }

    pub fn tenant(&self, settings: GraphSettings) -> GraphTenant {
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        GraphTenant::new(settings, clock).expect("adapter builds")
    }

    /// The adapter with the valid client secret and the Graph policy.
    pub fn valid_tenant(&self) -> GraphTenant {
        self.tenant(self.settings(self.secret_file(FAKE_CLIENT_SECRET)))
    }
}
