//! A throwaway MIT Kerberos realm for tests: a KDC started from the Debian packages
//! (`apt-get install -y krb5-kdc krb5-admin-server`) listening on 127.0.0.1 only,
//! with a user that needs pre-authentication (as in Active Directory) and a keytab for
//! `HTTP/localhost`. Stopped, and its files removed, when dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REALM: &str = "EASGATE.TEST";
pub const SERVICE_PRINCIPAL: &str = "HTTP/localhost";
pub const PACKAGES: &str = "apt-get install -y krb5-kdc krb5-admin-server";
/// The programs the test realm needs.
const TOOLS: [&str; 3] = ["krb5kdc", "kdb5_util", "kadmin.local"];
const TOOL_DIRECTORIES: [&str; 5] = ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"];

/// Whether MIT Kerberos' KDC programs are on this machine.
pub fn installed() -> bool {
    TOOLS.iter().all(|name| TOOL_DIRECTORIES.iter().any(|directory| Path::new(directory).join(name).exists()))
}

pub struct TestKdc {
    pub port: u16,
    pub directory: tempfile::TempDir,
    kdc: Child,
}

fn tool(name: &str) -> PathBuf {
    for directory in TOOL_DIRECTORIES {
        let path = Path::new(directory).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("MIT Kerberos' {name} is not installed: run `{PACKAGES}` (Debian) to run the Kerberos tests");
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address").port()
}

impl TestKdc {
    /// Creates the realm with `user` (password `password`) and starts the KDC.
    pub fn start(user: &str, password: &str) -> TestKdc {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let port = free_port();
        let root = directory.path().display().to_string();
        std::fs::write(
            directory.path().join("krb5.conf"),
            format!(
                "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n rdns = false\n\
                 [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n"
            ),
        )
        .expect("krb5.conf");
        std::fs::write(
            directory.path().join("kdc.conf"),
            format!(
                "[kdcdefaults]\n kdc_listen = 127.0.0.1:{port}\n kdc_tcp_listen = 127.0.0.1:{port}\n\
                 [realms]\n {REALM} = {{\n  database_name = {root}/principal\n  key_stash_file = {root}/stash\n\
                 \x20 acl_file = {root}/kadm5.acl\n  max_life = 1h\n\
                 \x20 supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n }}\n\
                 [logging]\n kdc = FILE:{root}/kdc.log\n"
            ),
        )
        .expect("kdc.conf");
        std::fs::write(directory.path().join("kadm5.acl"), "").expect("kadm5.acl");
        let master = format!("master-{}", uuid::Uuid::new_v4().simple());
        run(directory.path(), tool("kdb5_util"), &["create", "-s", "-r", REALM, "-P", &master]);
        let keytab = format!("{root}/http.keytab");
        for query in [
            format!("addprinc +requires_preauth -pw {password} {user}"),
            format!("addprinc -randkey {SERVICE_PRINCIPAL}"),
            format!("ktadd -k {keytab} {SERVICE_PRINCIPAL}"),
        ] {
            run(directory.path(), tool("kadmin.local"), &["-r", REALM, "-q", &query]);
        }
        let kdc = command(directory.path(), tool("krb5kdc"))
            .args(["-n", "-r", REALM])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("krb5kdc starts");
        let started = TestKdc { port, directory, kdc };
        started.wait_until_listening();
        started
    }

    fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        // Polls until the KDC accepts, bounded by the deadline.
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the KDC did not listen on 127.0.0.1:{} in 10 s", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    pub fn keytab(&self) -> Vec<u8> {
        std::fs::read(self.directory.path().join("http.keytab")).expect("the service keytab")
    }

    /// The KDC's log: which tickets it issued or refused.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("kdc.log")).unwrap_or_default()
    }
}

impl Drop for TestKdc {
    fn drop(&mut self) {
        let _ = self.kdc.kill();
        let _ = self.kdc.wait();
    }
}

fn command(directory: &Path, program: PathBuf) -> Command {
    let mut command = Command::new(program);
    command
        .env("KRB5_CONFIG", directory.join("krb5.conf"))
        .env("KRB5_KDC_PROFILE", directory.join("kdc.conf"))
        .current_dir(directory);
    command
}

fn run(directory: &Path, program: PathBuf, arguments: &[&str]) {
    let output = command(directory, program.clone()).args(arguments).output().expect("the krb5 tool runs");
    assert!(output.status.success(), "{} failed: {}", program.display(), String::from_utf8_lossy(&output.stderr));
}
