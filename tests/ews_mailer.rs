//! The EWS mailer end to end against the fake Exchange front end (TLS): CreateItem as sent and
//! read back by the server, EWS error replies, ErrorServerBusy, refused credentials, and the
//! certificate checks of the mailer's own HTTP client.

use std::time::Duration;

use easgate::config::SecretSource;
use easgate::ews::{EwsMailer, EwsSettings, notification_mail};
use easgate::mail::template::NotificationDetails;
use easgate::mail::{Mail, MailError, Mailer};
use easgate::testing::fake_ews::{EwsReply, FAKE_EWS_URL, FakeEws};
use easgate::testing::loopback_server::FIXTURE_CA_PEM;

const ACCOUNT: &str = "notify@contoso.test";
const PASSWORD: &str = "N0tify!pass";

struct Setup {
    fake: FakeEws,
    secrets: tempfile::TempDir,
}

async fn start() -> Setup {
    Setup {
        fake: FakeEws::start(ACCOUNT, PASSWORD).await.expect("fake EWS starts"),
        secrets: tempfile::tempdir().expect("temp dir"),
    }
}

impl Setup {
    fn settings(&self, password: &str, ews_url: Option<&str>) -> EwsSettings {
        let path = self.secrets.path().join("notify.secret");
        std::fs::write(&path, format!("{password}\n")).expect("write secret");
        EwsSettings {
            account: ACCOUNT.to_string(),
            password: SecretSource::File(path),
            ews_url: ews_url.map(|url| url.parse().expect("url")),
            tls_verify: true,
            trusted_ca_pem: None,
            proxy: None,
            request_timeout: Duration::from_secs(20),
            max_autodiscover_hops: 10,
        }
    }

    fn mailer(&self) -> EwsMailer {
        EwsMailer::with_http_client(self.settings(PASSWORD, Some(FAKE_EWS_URL)), self.fake.client())
    }
}

fn hostile_mail() -> Mail {
    let details = NotificationDetails {
        mailbox: "alice@contoso.test".into(),
        device_id: "x\"; Remove-Mailbox -Identity *; \"".into(),
        device_type: "iPhone".into(),
        device_model: "iPhone <15> & co".into(),
        device_os: "iOS 17.4".into(),
        enrollment_url: "https://portal.manage.microsoft.com/".into(),
    };
    notification_mail("alice@contoso.test", "", &details)
}

#[tokio::test]
async fn a_notification_is_sent_and_saved_with_its_html_intact() {
    let setup = start().await;
    let mail = hostile_mail();
    setup.mailer().send(&mail).await.expect("sent");
    let sent = setup.fake.sent();
    assert_eq!(sent.len(), 1);
    let received = &sent[0];
    assert_eq!(received.to, "alice@contoso.test");
    assert_eq!(received.disposition, "SendAndSaveCopy");
    assert_eq!(received.saved_folder, "sentitems");
    assert_eq!(received.server_version, "Exchange2010_SP2");
    assert_eq!(received.host, "mail.contoso.test");
    assert_eq!(received.subject, mail.subject);
    assert_eq!(
        received.html_body,
        mail.html_body.trim(),
        "the server reads back the HTML easgate wrote (its reader trims)"
    );
    assert!(
        received.html_body.contains("x&quot;; Remove-Mailbox -Identity *; &quot;"),
        "device id escaped in the HTML"
    );
    assert!(received.html_body.contains("iPhone &lt;15&gt; &amp; co"));
    assert_eq!(setup.fake.credentials_over_plain_http(), 0);
}

#[tokio::test]
async fn an_ews_error_response_is_a_rejection_with_code_and_text() {
    let setup = start().await;
    setup.fake.script_ews(&[EwsReply::InvalidRecipients]);
    let error = setup.mailer().send(&hostile_mail()).await.expect_err("rejected");
    match &error {
        MailError::Rejected { code, message } => {
            assert_eq!(code, "ErrorInvalidRecipients");
            assert!(message.contains("At least one recipient isn't valid"), "{message}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!error.is_retryable());
    assert!(setup.fake.sent().is_empty());
}

#[tokio::test]
async fn error_server_busy_as_a_soap_fault_is_busy_with_its_back_off() {
    let setup = start().await;
    setup.fake.script_ews(&[EwsReply::ServerBusyFault]);
    let error = setup.mailer().send(&hostile_mail()).await.expect_err("busy");
    match error {
        MailError::Busy { back_off_ms, ref detail } => {
            assert_eq!(back_off_ms, Some(29_774));
            assert!(detail.contains("ErrorServerBusy"), "{detail}");
        }
        other => panic!("expected Busy, got {other:?}"),
    }
}

#[tokio::test]
async fn error_server_busy_as_a_response_message_is_busy_too_and_the_retry_succeeds() {
    let setup = start().await;
    setup.fake.script_ews(&[EwsReply::ServerBusyMessage]);
    let mailer = setup.mailer();
    let error = mailer.send(&hostile_mail()).await.expect_err("busy");
    assert_eq!(
        error,
        MailError::Busy {
            detail: "ErrorServerBusy: The server cannot service this request right now. Try again later.".into(),
            back_off_ms: Some(5_000)
        }
    );
    assert!(error.is_retryable());
    mailer.send(&hostile_mail()).await.expect("the retry is sent");
    assert_eq!(setup.fake.sent().len(), 1);
}

#[tokio::test]
async fn a_wrong_password_is_unauthorized_and_never_shown() {
    let setup = start().await;
    let mailer = EwsMailer::with_http_client(setup.settings("wrong-password", Some(FAKE_EWS_URL)), setup.fake.client());
    let error = mailer.send(&hostile_mail()).await.expect_err("refused");
    assert!(matches!(error, MailError::Unauthorized { .. }), "{error:?}");
    assert!(!error.to_string().contains("wrong-password"));
}

#[tokio::test]
async fn a_missing_password_file_is_unauthorized_naming_it() {
    let setup = start().await;
    let mut settings = setup.settings(PASSWORD, Some(FAKE_EWS_URL));
    settings.password = SecretSource::File(setup.secrets.path().join("gone.secret"));
    let error = EwsMailer::with_http_client(settings, setup.fake.client())
        .send(&hostile_mail())
        .await
        .expect_err("no password");
    assert!(error.to_string().contains("gone.secret"), "{error}");
}

#[tokio::test]
async fn the_mailer_s_own_client_verifies_certificates_and_trusts_a_configured_ca() {
    let setup = start().await;
    let url = format!("https://127.0.0.1:{}/EWS/Exchange.asmx", setup.fake.port());

    let untrusted = EwsMailer::new(setup.settings(PASSWORD, Some(&url))).expect("builds");
    let error = untrusted.send(&hostile_mail()).await.expect_err("an unknown CA is refused");
    assert!(matches!(error, MailError::Unreachable { .. }), "{error:?}");

    let mut settings = setup.settings(PASSWORD, Some(&url));
    settings.trusted_ca_pem = Some(FIXTURE_CA_PEM.as_bytes().to_vec());
    EwsMailer::new(settings).expect("builds").send(&hostile_mail()).await.expect("the configured CA is trusted");

    let mut settings = setup.settings(PASSWORD, Some(&url));
    settings.tls_verify = false;
    EwsMailer::new(settings)
        .expect("builds")
        .send(&hostile_mail())
        .await
        .expect("verification off, as the admin asked");
    assert_eq!(setup.fake.sent().len(), 2);
}
