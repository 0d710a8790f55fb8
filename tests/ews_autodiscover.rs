//! Autodiscover end to end against the fake front end: the candidate order, POX and SOAP,
//! redirectAddr and redirectUrl, the http redirect GET, the hop limit, and that credentials
//! never travel over plain http.

use std::time::Duration;

use easgate::config::SecretSource;
use easgate::ews::{EwsMailer, EwsSettings};
use easgate::mail::{Mail, MailError, Mailer};
use easgate::testing::fake_ews::{AutodiscoverEndpoint, AutodiscoverReply, FAKE_EWS_URL, FakeEws};

const ACCOUNT: &str = "notify@contoso.test";
const PASSWORD: &str = "N0tify!pass";

struct Setup {
    fake: FakeEws,
    _secrets: tempfile::TempDir,
    mailer: EwsMailer,
}

async fn start() -> Setup {
    let fake = FakeEws::start(ACCOUNT, PASSWORD).await.expect("fake starts");
    let secrets = tempfile::tempdir().expect("temp dir");
    let path = secrets.path().join("notify.secret");
    std::fs::write(&path, PASSWORD).expect("write");
    let settings = EwsSettings {
        account: ACCOUNT.to_string(),
        password: SecretSource::File(path),
        ews_url: None,
        tls_verify: true,
        trusted_ca_pem: None,
        proxy: None,
        request_timeout: Duration::from_secs(20),
        max_autodiscover_hops: 10,
    };
    let mailer = EwsMailer::with_http_client(settings, fake.client());
    Setup { fake, _secrets: secrets, mailer }
}

fn mail() -> Mail {
    Mail { to: "alice@contoso.test".into(), subject: "s".into(), html_body: "<p>b</p>".into() }
}

#[tokio::test]
async fn pox_at_the_domain_root_is_asked_first_and_its_internal_url_used() {
    let setup = start().await;
    setup.fake.set_autodiscover("contoso.test", AutodiscoverEndpoint::Pox, AutodiscoverReply::Settings);
    setup.fake.set_autodiscover("autodiscover.contoso.test", AutodiscoverEndpoint::Pox, AutodiscoverReply::Error);
    assert_eq!(setup.mailer.ews_url().await.expect("found").as_str(), FAKE_EWS_URL);
    assert_eq!(setup.fake.seen(), vec!["POST https://contoso.test/autodiscover/autodiscover.xml"]);
    setup.mailer.send(&mail()).await.expect("sent through the discovered URL");
    assert_eq!(setup.fake.sent()[0].host, "mail.contoso.test");
}

#[tokio::test]
async fn the_candidates_are_tried_in_order_until_soap_answers() {
    let setup = start().await;
    setup.fake.set_autodiscover("contoso.test", AutodiscoverEndpoint::Pox, AutodiscoverReply::Error);
    setup.fake.set_autodiscover("autodiscover.contoso.test", AutodiscoverEndpoint::Soap, AutodiscoverReply::Settings);
    assert_eq!(setup.mailer.ews_url().await.expect("found").as_str(), FAKE_EWS_URL, "InternalEwsUrl preferred");
    assert_eq!(
        setup.fake.seen(),
        vec![
            "POST https://contoso.test/autodiscover/autodiscover.xml",
            "POST https://contoso.test/autodiscover/autodiscover.svc",
            "POST https://autodiscover.contoso.test/autodiscover/autodiscover.xml",
            "POST https://autodiscover.contoso.test/autodiscover/autodiscover.svc",
        ]
    );
}

#[tokio::test]
async fn the_http_get_redirect_is_followed_to_https_without_credentials_over_http() {
    let setup = start().await;
    setup.fake.set_autodiscover(
        "autodiscover.contoso.test",
        AutodiscoverEndpoint::HttpGet,
        AutodiscoverReply::RedirectUrl("https://mail.contoso.test/autodiscover/autodiscover.xml".into()),
    );
    setup.fake.set_autodiscover("mail.contoso.test", AutodiscoverEndpoint::Pox, AutodiscoverReply::Settings);
    assert_eq!(setup.mailer.ews_url().await.expect("found").as_str(), FAKE_EWS_URL);
    let seen = setup.fake.seen();
    assert_eq!(seen[seen.len() - 2], "GET http://autodiscover.contoso.test/autodiscover/autodiscover.xml");
    assert_eq!(seen[seen.len() - 1], "POST https://mail.contoso.test/autodiscover/autodiscover.xml");
    assert_eq!(setup.fake.credentials_over_plain_http(), 0);
}

#[tokio::test]
async fn an_http_redirect_to_plain_http_is_not_followed() {
    let setup = start().await;
    setup.fake.set_autodiscover(
        "autodiscover.contoso.test",
        AutodiscoverEndpoint::HttpGet,
        AutodiscoverReply::RedirectUrl("http://mail.contoso.test/autodiscover/autodiscover.xml".into()),
    );
    setup.fake.set_autodiscover("mail.contoso.test", AutodiscoverEndpoint::Pox, AutodiscoverReply::Settings);
    let error = setup.mailer.ews_url().await.expect_err("no https endpoint");
    assert!(matches!(error, MailError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("is not https"), "{error}");
    assert_eq!(setup.fake.credentials_over_plain_http(), 0);
}

#[tokio::test]
async fn redirect_address_moves_to_the_other_domain_through_pox_and_soap() {
    let setup = start().await;
    setup.fake.set_autodiscover(
        "contoso.test",
        AutodiscoverEndpoint::Pox,
        AutodiscoverReply::RedirectAddress("notify@fabrikam.test".into()),
    );
    setup.fake.set_autodiscover(
        "fabrikam.test",
        AutodiscoverEndpoint::Soap,
        AutodiscoverReply::RedirectAddress("notify@contoso.test".into()),
    );
    // contoso -> fabrikam -> contoso -> ...: a loop that only the hop limit ends.
    let error = setup.mailer.ews_url().await.expect_err("loops");
    assert!(error.to_string().contains("redirected more than 10 times"), "{error}");
    assert!(setup.fake.seen().len() < 40, "bounded: {}", setup.fake.seen().len());
}

#[tokio::test]
async fn redirect_address_then_redirect_url_find_the_server() {
    let setup = start().await;
    setup.fake.set_autodiscover(
        "contoso.test",
        AutodiscoverEndpoint::Pox,
        AutodiscoverReply::RedirectAddress("notify@fabrikam.test".into()),
    );
    setup.fake.set_autodiscover(
        "autodiscover.fabrikam.test",
        AutodiscoverEndpoint::Pox,
        AutodiscoverReply::RedirectUrl("https://mail.contoso.test/autodiscover/autodiscover.xml".into()),
    );
    setup.fake.set_autodiscover("mail.contoso.test", AutodiscoverEndpoint::Pox, AutodiscoverReply::Settings);
    assert_eq!(setup.mailer.ews_url().await.expect("found").as_str(), FAKE_EWS_URL);
    assert!(
        setup
            .fake
            .seen()
            .contains(&"POST https://autodiscover.fabrikam.test/autodiscover/autodiscover.xml".to_string())
    );
}

#[tokio::test]
async fn nothing_found_is_unreachable_and_refused_credentials_are_unauthorized() {
    let setup = start().await;
    let error = setup.mailer.send(&mail()).await.expect_err("no Autodiscover anywhere");
    assert!(matches!(error, MailError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("Autodiscover found no EWS URL for notify@contoso.test"), "{error}");

    setup.fake.set_autodiscover("contoso.test", AutodiscoverEndpoint::Pox, AutodiscoverReply::Unauthorized);
    let error = setup.mailer.send(&mail()).await.expect_err("refused");
    assert!(matches!(error, MailError::Unauthorized { .. }), "{error:?}");
    assert!(!error.to_string().contains(PASSWORD));
}
