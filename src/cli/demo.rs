//! `easgate demo [--devices N] [--listen ADDR]`: an embedded simulated organisation whose users
//! walk the ten steps over accelerated time — phones connect and are quarantined, their users
//! get the mail, join, enrol, activate email, become compliant and are allowed; some fall off
//! and come back; one user is excluded; one phone is exempted by an admin. A live summary is
//! printed as virtual time passes; the data directory is left for the other commands.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use crate::cli::output::print;
use crate::cli::{Cli, CliError, DemoArgs};
use crate::domain::projection::Projection;
use crate::domain::vocabulary::{Access, AccessLevel, Compliance, SyncKind, SyncTrigger};
use crate::scenario::world::{Transport, World, WorldError};
use crate::sim::exchange::DeviceSpec;
use crate::tenant::TenantPolicy;

/// The marker that says a data directory holds a demo (and may be replaced by a new one).
const DEMO_MARKER: &str = "DEMO";
/// Phones a demo may have.
const DEVICES_MAX: u64 = 100_000;
/// Virtual time between summaries.
const TICK_S: u64 = 900;
const NAMES: [&str; 12] =
    ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar"];
const CLASSES: [(&str, &str, &str, &str); 3] = [
    ("iPhone", "iPhone15,2", "iOS 17.1 21B74", "Appl"),
    ("Android", "SM-S918B", "Android 14", "androidc"),
    ("iPad", "iPad13,4", "iOS 17.1 21B74", "Appl"),
];

/// What happens to a phone, in ticks after the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Join,
    Enroll,
    Activate,
    Comply(Compliance),
    Unenroll,
}

struct Phone {
    upn: String,
    device_id: String,
    plan: Vec<(u64, Action)>,
}

pub fn run(cli: &Cli, args: &DemoArgs) -> Result<(), CliError> {
    if args.devices == 0 || args.devices > DEVICES_MAX {
        return Err(CliError::Input(format!("--devices: must be 1..={DEVICES_MAX}")));
    }
    let data_dir = cli.data_dir();
    prepare(&data_dir)?;
    if let Some(listen) = &args.listen {
        return Err(CliError::Input(format!(
            "--listen {listen}: the status page is not built yet; run without --listen"
        )));
    }
    let runtime = crate::cli::runtime()?;
    runtime.block_on(run_demo(&data_dir, args)).map_err(|error| CliError::Failed(error.to_string()))?;
    print(&format!(
        "\nThe demo's history is in {dir}. Try:\n  easgate --data {dir} status\n  easgate --data {dir} devices\n  easgate --data {dir} audit <DEVICE_ID>\n  easgate --data {dir} verify\n",
        dir = data_dir.display()
    ));
    Ok(())
}

/// A fresh data directory: an earlier demo's is replaced, anything else is left alone.
fn prepare(data_dir: &Path) -> Result<(), CliError> {
    let occupied = std::fs::read_dir(data_dir).map(|mut entries| entries.next().is_some()).unwrap_or(false);
    if occupied {
        if !data_dir.join(DEMO_MARKER).exists() {
            return Err(CliError::Input(format!(
                "{}: not empty and not an earlier demo's; pass another --data",
                data_dir.display()
            )));
        }
        std::fs::remove_dir_all(data_dir)
            .map_err(|error| CliError::Failed(format!("{}: {error}", data_dir.display())))?;
    }
    std::fs::create_dir_all(data_dir).map_err(|error| CliError::Failed(format!("{}: {error}", data_dir.display())))?;
    std::fs::write(data_dir.join(DEMO_MARKER), "written by easgate demo; a new demo replaces this directory\n")
        .map_err(|error| CliError::Failed(format!("{}: {error}", data_dir.display())))
}

fn phones(count: u64) -> Vec<Phone> {
    (0..count)
        .map(|index| {
            let user = index / 2; // two phones per user
            let name = NAMES[(user as usize) % NAMES.len()];
            let upn = if user < NAMES.len() as u64 {
                format!("{name}@contoso.com")
            } else {
                format!("{name}{user}@contoso.com")
            };
            let (_, _, _, prefix) = CLASSES[(index as usize) % CLASSES.len()];
            let device_id = format!("{prefix}{:012X}", 0xD3_0000 + index * 7919);
            let start = 1 + index % 8;
            let mut plan = vec![(start + 1, Action::Join), (start + 2, Action::Enroll), (start + 3, Action::Activate)];
            if index % 5 == 3 {
                // Enrols noncompliant, fixes it later.
                plan.push((start + 4, Action::Comply(Compliance::Noncompliant)));
                plan.push((start + 10, Action::Comply(Compliance::Compliant)));
            } else {
                plan.push((start + 4, Action::Comply(Compliance::Compliant)));
            }
            if index % 7 == 5 {
                // Falls off the path: unenrolled after being allowed.
                plan.push((start + 14, Action::Unenroll));
            }
            Phone { upn, device_id, plan }
        })
        .collect()
}

async fn run_demo(data_dir: &Path, args: &DemoArgs) -> Result<(), WorldError> {
    let mut world = World::new(data_dir, Transport::InProcess);
    world.create_organization("contoso", &["cas1".to_string(), "cas2".to_string()], AccessLevel::Allow)?;
    world.tenant.set_policy(Some(TenantPolicy {
        enabled: true,
        included_groups: vec!["mobile-users".into()],
        excluded_groups: vec!["executives".into()],
        default_access: AccessLevel::Quarantine,
        override_default_rule: true,
        access_rules: Vec::new(),
        notification: String::new(),
    }));
    let phones = phones(args.devices);
    for (index, phone) in phones.iter().enumerate() {
        let executive = index / 2 == 5; // one excluded user, left to Exchange's own rules
        let groups = if executive {
            vec!["mobile-users".to_string(), "executives".to_string()]
        } else {
            vec!["mobile-users".to_string()]
        };
        world.tenant.upsert_user(&phone.upn, &phone.upn, true, &groups);
        world.exchange()?.ensure_mailbox(&phone.upn, &phone.upn)?;
        let (device_type, model, os, _) = CLASSES[index % CLASSES.len()];
        world.exchange()?.connect_device(&phone.upn, &DeviceSpec::new(&phone.device_id, device_type, model, os))?;
    }
    if let Some(phone) = phones.get(6) {
        world.exchange()?.admin_allow(&phone.upn, &phone.device_id)?;
    }
    let live = std::io::stdout().is_terminal() && !args.fast;
    print("easgate demo: contoso, CAS cas1 and cas2, policy: quarantine unmanaged phones, allow compliant ones\n");
    print(
        "(virtual time; `steps S:N` = N phones at step S of the ten: 3 quarantined ... 8 state recorded, 10 access granted)\n",
    );
    world.sync(SyncKind::Full, SyncTrigger::Manual).await?;
    summary(&world, 0)?;
    let ticks = phones.iter().flat_map(|phone| phone.plan.iter().map(|(tick, _)| *tick)).max().unwrap_or(0) + 2;
    for tick in 1..=ticks {
        for phone in &phones {
            for (when, action) in &phone.plan {
                if *when == tick {
                    act(&world, phone, *action)?;
                }
            }
        }
        world.advance(TICK_S).await?;
        summary(&world, tick)?;
        if live {
            tokio::time::sleep(Duration::from_millis(1_000 * TICK_S / 60 / args.speed.max(1))).await;
        }
    }
    world.sync(SyncKind::Full, SyncTrigger::Manual).await?;
    world.stop_engine()
}

fn act(world: &World, phone: &Phone, action: Action) -> Result<(), WorldError> {
    let device_id = &phone.device_id;
    match action {
        Action::Join => {
            world.tenant.workplace_join(device_id);
        }
        Action::Enroll => {
            world.tenant.enroll(device_id, &phone.upn, None)?;
        }
        Action::Activate => world.tenant.activate_email(device_id)?,
        Action::Comply(compliance) => world.tenant.set_compliance(device_id, compliance)?,
        Action::Unenroll => world.tenant.unenroll(device_id)?,
    }
    Ok(())
}

fn summary(world: &World, tick: u64) -> Result<(), WorldError> {
    let Some(engine) = world.engine.as_ref() else { return Ok(()) };
    let projection: &Projection = engine.projection();
    let counts = projection.counts_by_access();
    let count = |access: Access| counts.get(&access).copied().unwrap_or(0);
    let mut steps = [0u64; 11];
    for device in projection.current_devices() {
        steps[usize::from(device.flow_step.min(10))] += 1;
    }
    let step_text: Vec<String> =
        (1..=10).filter(|step| steps[*step] > 0).map(|step| format!("{step}:{}", steps[step])).collect();
    let minutes = tick * TICK_S / 60;
    print(&format!(
        "{:02}:{:02}  allowed {:>3}  quarantined {:>3}  blocked {:>3}  exempt {:>3}  | steps {} | mails {} | events {}\n",
        minutes / 60,
        minutes % 60,
        count(Access::Allowed),
        count(Access::Quarantined),
        count(Access::Blocked),
        count(Access::Exempt),
        step_text.join(" "),
        world.outbox.delivered().len(),
        projection.last_seq
    ));
    Ok(())
}
