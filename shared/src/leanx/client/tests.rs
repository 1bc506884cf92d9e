use super::*;
use crate::leanx::Secret;

#[test]
fn ids_with_colons_are_url_encoded() {
    let encoded = utf8_percent_encode("PAYOUT-A9D5:174307-LEANX", QUERY_VALUE).to_string();
    assert_eq!(encoded, "PAYOUT-A9D5%3A174307-LEANX");
}

#[test]
fn transaction_value_is_read_exactly() {
    let data = r#"{"transaction_status":"SUCCESS","value":99999999.99,"transaction_fee":"0.50","extra":1}"#;
    let tx: PayoutTransaction = serde_json::from_str(data).unwrap();
    assert_eq!(tx.value.unwrap().to_string(), "99999999.99");
    assert_eq!(tx.transaction_fee.unwrap().to_string(), "0.50");
}

fn settings(base_url: &str) -> LeanxSettings {
    LeanxSettings::new(
        base_url,
        LeanxCredentials {
            auth_token: Secret::new(TOKEN),
            hash_key: Secret::new("hash-key"),
        },
    )
}

const TOKEN: &str = "LP-TEST0001-MM|6f1c9a2e-4b7d-4e21-9a3f-1c2d3e4f5a6b|c0ffee";

#[test]
fn https_and_loopback_http_base_urls_are_accepted() {
    for url in [
        "https://api.leanx.io",
        "https://api.leanx.dev/",
        "http://127.0.0.1:4010",
        "http://127.8.9.10",
        "http://localhost:4010",
        "http://LOCALHOST:4010",
        "http://[::1]:4010",
    ] {
        assert!(LeanxClient::new(settings(url)).is_ok(), "{url}");
    }
}

#[test]
fn plain_http_to_a_remote_host_is_refused_at_construction() {
    for url in [
        "http://api.leanx.io",
        "http://10.0.0.5:4010",
        "http://128.0.0.1",
        "http://[::2]",
        "http://localhost.example.com",
        "http://127.0.0.1.example.com",
    ] {
        let error = LeanxClient::new(settings(url)).unwrap_err();
        assert!(
            matches!(error, LeanxError::InvalidBaseUrl(_)),
            "{url}: {error:?}"
        );
    }
}

#[test]
fn a_base_url_that_is_not_an_http_url_is_refused() {
    for url in [
        "api.leanx.io",
        "ftp://api.leanx.io",
        "file:///etc/passwd",
        "",
    ] {
        let error = LeanxClient::new(settings(url)).unwrap_err();
        assert!(
            matches!(error, LeanxError::InvalidBaseUrl(_)),
            "{url}: {error:?}"
        );
    }
}

#[test]
fn settings_check_their_base_url_without_a_client() {
    assert!(settings("https://api.leanx.io").check_base_url().is_ok());
    assert!(matches!(
        settings("http://api.leanx.io").check_base_url(),
        Err(LeanxError::InvalidBaseUrl(_))
    ));
}

#[test]
fn a_refused_base_url_was_never_sent() {
    let error = LeanxClient::new(settings("http://api.leanx.io")).unwrap_err();
    assert!(!error.may_have_reached_leanx());
}

#[test]
fn the_auth_token_header_is_marked_sensitive() {
    let client = LeanxClient::new(settings("https://api.leanx.dev")).unwrap();
    let request = client
        .request("overall-balance", None, None)
        .unwrap()
        .build()
        .unwrap();
    let token = request.headers().get("auth-token").unwrap();
    assert!(token.is_sensitive());
    assert_eq!(token.to_str().unwrap(), TOKEN);
    assert!(!format!("{request:?} {:?}", request.headers()).contains("c0ffee"));
}

#[test]
fn the_client_debug_never_shows_the_auth_token() {
    let client = LeanxClient::new(settings("https://api.leanx.dev")).unwrap();
    assert!(!format!("{client:?}").contains("c0ffee"));
}

#[test]
fn the_signature_header_is_marked_sensitive() {
    let mut settings = settings("https://api.leanx.dev");
    settings.sign_requests = true;
    let client = LeanxClient::new(settings).unwrap();
    let request = client
        .request("overall-balance", None, None)
        .unwrap()
        .build()
        .unwrap();
    let signature = request.headers().get("x-signature").unwrap();
    assert!(signature.is_sensitive());
    assert_eq!(signature.len(), 64);
    assert!(request.headers().get("auth-token").unwrap().is_sensitive());
}

#[test]
fn only_unknown_outcomes_may_have_reached_leanx() {
    assert!(LeanxError::OutcomeUnknown("t".into()).may_have_reached_leanx());
    assert!(LeanxError::Malformed("m".into()).may_have_reached_leanx());
    assert!(!LeanxError::NotSent("c".into()).may_have_reached_leanx());
    let refused = LeanxError::Refused {
        response_code: "4566".into(),
        description: "FAILED".into(),
    };
    assert!(!refused.may_have_reached_leanx());
}
