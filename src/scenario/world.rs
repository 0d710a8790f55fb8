//! The simulated world a scenario runs in: the twins (Exchange organisation, tenant, outbox),
//! the virtual clock, the schedule, and the engine with its data directory — which can be shut
//! down, crashed and started again like the real process.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::{Clock, VirtualClock};
use crate::domain::vocabulary::{AccessLevel, SyncKind, SyncTrigger};
use crate::exchange::ExchangeConnector;
use crate::sim::exchange::{DEFAULT_SERVICE_ACCOUNT, OrganizationSpec};
use crate::sim::{SimExchange, SimOutbox, SimTenant};
use crate::sync::engine::{Engine, EngineConfig, EngineError, SyncReport};
use crate::sync::ids::IdGenerator;
use crate::sync::schedule::{FULL_SYNC_INTERVAL_S_DEFAULT, QUICK_SYNC_INTERVAL_S_DEFAULT, Schedule};

/// How the engine reaches the simulated organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// In process, through the organisation's own connector.
    InProcess,
    /// Over WS-Management/PSRP on loopback, through the real client.
    Psrp,
}

/// Why the world could not do what a step asked.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The scenario is wrong (an unknown device or user, a bad value). **Handling:** exit 2.
    #[error("{0}")]
    Scenario(String),
    /// The engine or its data directory failed. **Handling:** report and stop the scenario.
    #[error("{0}")]
    Engine(String),
}

impl From<crate::sim::SimError> for WorldError {
    fn from(error: crate::sim::SimError) -> WorldError {
        WorldError::Scenario(error.to_string())
    }
}

pub struct World {
    pub clock: VirtualClock,
    pub exchange: Option<SimExchange>,
    pub tenant: SimTenant,
    pub outbox: SimOutbox,
    pub data_dir: PathBuf,
    pub engine: Option<Engine>,
    pub schedule: Schedule,
    pub transport: Transport,
    /// Serves the organisation over PSRP when the transport asks for it.
    pub(crate) psrp: Option<crate::scenario::psrp::PsrpLink>,
    /// Runspaces the engine may open (1 unless a benchmark says otherwise).
    pub runspaces_max: usize,
    seed: u64,
}

impl World {
    pub fn new(data_dir: &Path, transport: Transport) -> World {
        let clock = VirtualClock::scenario_start();
        let start_us = clock.now().timestamp_micros();
        World {
            clock,
            exchange: None,
            tenant: SimTenant::new(),
            outbox: SimOutbox::new(),
            data_dir: data_dir.to_path_buf(),
            engine: None,
            schedule: Schedule::starting(start_us, QUICK_SYNC_INTERVAL_S_DEFAULT, FULL_SYNC_INTERVAL_S_DEFAULT),
            transport,
            psrp: None,
            runspaces_max: 1,
            seed: 1,
        }
    }

    /// The organisation; a default one (contoso, one CAS, Allow) when no `org` step came first.
    pub fn exchange(&mut self) -> Result<&SimExchange, WorldError> {
        if self.exchange.is_none() {
            self.create_organization("contoso", &["cas1".to_string()], AccessLevel::Allow)?;
        }
        self.exchange.as_ref().ok_or_else(|| WorldError::Engine("no organisation".into()))
    }

    pub fn create_organization(
        &mut self,
        name: &str,
        cas: &[String],
        default_access: AccessLevel,
    ) -> Result<(), WorldError> {
        if self.exchange.is_some() {
            return Err(WorldError::Scenario(
                "the organisation exists already (one `org` step, before the others)".into(),
            ));
        }
        let spec = OrganizationSpec { name: name.to_string(), cas: cas.to_vec(), default_access };
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        self.exchange = Some(SimExchange::new(spec, clock)?);
        Ok(())
    }

    fn engine_config(&self) -> EngineConfig {
        let organization = self.exchange.as_ref().map(|exchange| exchange.organization().name).unwrap_or_default();
        EngineConfig {
            connector_id: format!("sim-{organization}"),
            organization,
            runspaces_max: self.runspaces_max,
            ..EngineConfig::default()
        }
    }

    async fn connector(&mut self) -> Result<Arc<dyn ExchangeConnector>, WorldError> {
        let exchange = self.exchange()?.clone();
        match self.transport {
            Transport::InProcess => Ok(Arc::new(exchange.connector(DEFAULT_SERVICE_ACCOUNT))),
            Transport::Psrp => {
                if self.psrp.is_none() {
                    self.psrp =
                        Some(crate::scenario::psrp::PsrpLink::serve(&exchange).await.map_err(WorldError::Engine)?);
                }
                let link = self.psrp.as_ref().ok_or_else(|| WorldError::Engine("no PSRP server".into()))?;
                Ok(link.connector())
            }
        }
    }

    /// Starts the engine from the data directory (recovering intents a crash left).
    pub async fn start_engine(&mut self) -> Result<(), WorldError> {
        if self.engine.is_some() {
            return Ok(());
        }
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        self.seed += 1;
        let journal = crate::data::open_journal(&self.data_dir, clock, IdGenerator::seeded(self.seed))
            .map_err(|error| WorldError::Engine(error.to_string()))?;
        let connector = self.connector().await?;
        let config = self.engine_config();
        let mut engine =
            Engine::new(journal, connector, Arc::new(self.tenant.clone()), Arc::new(self.outbox.clone()), config);
        engine.start().await.map_err(|error| WorldError::Engine(error.to_string()))?;
        self.engine = Some(engine);
        Ok(())
    }

    pub async fn engine(&mut self) -> Result<&mut Engine, WorldError> {
        self.start_engine().await?;
        self.engine.as_mut().ok_or_else(|| WorldError::Engine("the engine did not start".into()))
    }

    /// A clean shutdown: everything flushed, a snapshot taken, the data directory closed.
    pub fn stop_engine(&mut self) -> Result<(), WorldError> {
        if let Some(engine) = self.engine.take() {
            engine.into_journal().close().map_err(|error| WorldError::Engine(error.to_string()))?;
        }
        Ok(())
    }

    /// The process dies: nothing more is flushed.
    pub fn kill_engine(&mut self) {
        drop(self.engine.take());
    }

    /// Runs one sync and restarts its kind's timer.
    pub async fn sync(&mut self, kind: SyncKind, trigger: SyncTrigger) -> Result<SyncReport, WorldError> {
        let report =
            self.engine().await?.sync(kind, trigger).await.map_err(|error| WorldError::Engine(error.to_string()))?;
        self.schedule.ran(report.kind, self.clock.now().timestamp_micros());
        if let Some(engine) = self.engine.as_mut() {
            engine.snapshot_if_due().map_err(|error| WorldError::Engine(error.to_string()))?;
        }
        Ok(report)
    }

    /// A sync during which the process is killed after `after_cmdlets` state-changing cmdlets;
    /// then the process starts again. Returns whether the crash struck.
    pub async fn crash(&mut self, kind: SyncKind, after_cmdlets: u64) -> Result<bool, WorldError> {
        let engine = self.engine().await?;
        engine.crash_after(after_cmdlets);
        let struck = match engine.sync(kind, SyncTrigger::Manual).await {
            Err(EngineError::Crashed(_)) => true,
            Ok(_) => false,
            Err(error) => return Err(WorldError::Engine(error.to_string())),
        };
        self.kill_engine();
        self.start_engine().await?;
        Ok(struck)
    }

    /// Moves virtual time forward; scheduled syncs that fall due run at their time.
    pub async fn advance(&mut self, seconds: u64) -> Result<Vec<SyncReport>, WorldError> {
        let target_us = self
            .clock
            .now()
            .timestamp_micros()
            .saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX / 2_000_000) * 1_000_000);
        let mut reports = Vec::new();
        // A bound on the loop: at most one sync per quick interval in the advanced span, plus one.
        let syncs_max = seconds / self.schedule.quick_interval_s.max(1) + 2;
        for _ in 0..syncs_max {
            let Some((kind, due_us)) = self.schedule.due(target_us) else { break };
            let now_us = self.clock.now().timestamp_micros();
            if due_us > now_us {
                self.clock.advance(std::time::Duration::from_micros(u64::try_from(due_us - now_us).unwrap_or(0)));
            }
            reports.push(self.sync(kind, SyncTrigger::Schedule).await?);
        }
        let now_us = self.clock.now().timestamp_micros();
        if target_us > now_us {
            self.clock.advance(std::time::Duration::from_micros(u64::try_from(target_us - now_us).unwrap_or(0)));
        }
        Ok(reports)
    }
}
