//! Hostile input through the real HTTP stack: oversized bodies, deeply nested JSON, invalid
//! UTF-8, duplicate keys, huge numbers, Unicode look-alikes in refs, and path traversal in
//! `{external_invoice_ref}` (encoded and raw). Each is refused with the right status and error,
//! nothing is written to the table, and LeanX is never called.

use std::time::Duration;

use payouts_e2e::stack::{Stack, payout_body};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const KIB: usize = 1024;

/// A valid request with one field replaced by raw JSON text.
fn with_raw(field: &str, raw: &str) -> Vec<u8> {
    let mut body = payout_body("INV-HOSTILE-1");
    body[field] = json!("__RAW__");
    body.to_string().replace("\"__RAW__\"", raw).into_bytes()
}

fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

struct Case {
    name: &'static str,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

fn case(
    name: &'static str,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        body: body.into(),
        status,
        code,
        field,
    }
}

fn create_cases() -> Vec<Case> {
    let valid = payout_body("INV-HOSTILE-1").to_string();
    let padded = format!("{valid}{}", " ".repeat(16 * KIB));
    let mut invalid_utf8 = valid.clone().into_bytes();
    let at = invalid_utf8
        .windows(7)
        .position(|w| w == b"HOSTILE")
        .unwrap();
    invalid_utf8[at] = 0xff;
    let mut overlong_utf8 = valid.clone().into_bytes();
    overlong_utf8.splice(at..at + 1, [0xc0, 0xaf]);
    let lookalike = |r: &str| with_raw("external_invoice_ref", &json!(r).to_string());
    vec![
        case("body of 16 KiB + 1", padded, 413, "payload_too_large", None),
        case(
            "body of 1 MiB",
            vec![b'{'; 1024 * KIB],
            413,
            "payload_too_large",
            None,
        ),
        case(
            "JSON nested 5,000 deep (top level)",
            nested(5_000),
            400,
            "invalid_request",
            None,
        ),
        case(
            "JSON nested 2,000 deep in a field",
            with_raw("recipient_name", &nested(2_000)),
            400,
            "invalid_request",
            Some("recipient_name"),
        ),
        case(
            "objects nested 2,000 deep",
            format!("{}{}", "{\"a\":".repeat(2_000), "}".repeat(2_000)),
            400,
            "invalid_request",
            None,
        ),
        case("invalid UTF-8 in the ref", invalid_utf8, 400, "invalid_request", None),
        case(
            "overlong UTF-8 encoding of '/'",
            overlong_utf8,
            400,
            "invalid_request",
            None,
        ),
        case(
            "lone surrogate escape in a name",
            with_raw("recipient_name", "\"\\ud800\""),
            400,
            "invalid_request",
            None,
        ),
        case(
            "duplicate amount keys",
            valid.replacen("\"amount\":\"13.00\"", "\"amount\":\"1.00\",\"amount\":\"13.00\"", 1),
            400,
            "invalid_request",
            Some("amount"),
        ),
        case(
            "duplicate ref keys",
            valid.replacen(
                "\"external_invoice_ref\":\"INV-HOSTILE-1\"",
                "\"external_invoice_ref\":\"INV-HOSTILE-1\",\"external_invoice_ref\":\"INV-HOSTILE-2\"",
                1,
            ),
            400,
            "invalid_request",
            Some("external_invoice_ref"),
        ),
        case(
            "amount 1e400",
            with_raw("amount", "1e400"),
            400,
            "invalid_request",
            Some("amount"),
        ),
        case(
            "amount with 400 digits",
            with_raw("amount", &"9".repeat(400)),
            400,
            "invalid_request",
            Some("amount"),
        ),
        case(
            "amount string with 400 digits",
            with_raw("amount", &format!("\"{}\"", "9".repeat(400))),
            400,
            "invalid_request",
            Some("amount"),
        ),
        case(
            "amount 100000000.00",
            with_raw("amount", "\"100000000.00\""),
            400,
            "invalid_request",
            Some("amount"),
        ),
        case(
            "amount 0.000000000000000000000000000001",
            with_raw("amount", "0.000000000000000000000000000001"),
            400,
            "invalid_request",
            Some("amount"),
        ),
        case(
            "amount -0.00",
            with_raw("amount", "\"-0.00\""),
            400,
            "invalid_request",
            Some("amount"),
        ),
        case(
            "amount NaN",
            with_raw("amount", "\"NaN\""),
            400,
            "invalid_request",
            Some("amount"),
        ),
        case(
            "payout_service_id 2^64",
            with_raw("payout_service_id", "18446744073709551616"),
            400,
            "invalid_request",
            Some("payout_service_id"),
        ),
        case(
            "payout_service_id 1e3",
            with_raw("payout_service_id", "1e3"),
            400,
            "invalid_request",
            Some("payout_service_id"),
        ),
        case(
            "ref with a Unicode hyphen (U+2010)",
            lookalike("INV\u{2010}1"),
            400,
            "invalid_request",
            Some("external_invoice_ref"),
        ),
        case(
            "ref with a Cyrillic I (U+0406)",
            lookalike("\u{0406}NV-1"),
            400,
            "invalid_request",
            Some("external_invoice_ref"),
        ),
        case(
            "ref in fullwidth letters",
            lookalike("\u{ff29}\u{ff2e}\u{ff36}-1"),
            400,
            "invalid_request",
            Some("external_invoice_ref"),
        ),
        case(
            "ref with a zero-width space",
            lookalike("INV\u{200b}-1"),
            400,
            "invalid_request",
            Some("external_invoice_ref"),
        ),
        case(
            "ref with a right-to-left override",
            lookalike("INV-\u{202e}1"),
            400,
            "invalid_request",
            Some("external_invoice_ref"),
        ),
        case(
            "ref with a Kelvin sign (U+212A)",
            lookalike("INV-\u{212a}"),
            400,
            "invalid_request",
            Some("external_invoice_ref"),
        ),
        case(
            "ref with a path",
            lookalike("../../etc/passwd"),
            400,
            "invalid_request",
            Some("external_invoice_ref"),
        ),
        case(
            "ref with a NUL",
            lookalike("INV\u{0}1"),
            400,
            "invalid_request",
            Some("external_invoice_ref"),
        ),
        case(
            "account number in Arabic-Indic digits",
            with_raw("third_party_account_no", "\"\u{0668}\u{0660}\u{0661}\u{0661}\u{0664}\""),
            400,
            "invalid_request",
            Some("third_party_account_no"),
        ),
        case(
            "name with an escape sequence",
            with_raw("recipient_name", "\"John\\u001b[31m Doe\""),
            400,
            "invalid_request",
            Some("recipient_name"),
        ),
    ]
}

/// Sends a request line as written (no client-side path normalisation) and returns the
/// status code and body.
async fn raw_get(stack: &Stack, path: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(stack.emulator.addr())
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer))
        .await
        .expect("the front answers")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    // A chunked body has a size line before the JSON.
    let json_start = body.find('{').unwrap_or(body.len());
    let json_end = body.rfind('}').map_or(body.len(), |i| i + 1);
    let body =
        serde_json::from_str(&body[json_start..json_end.max(json_start)]).unwrap_or(Value::Null);
    (status, body)
}

async fn table_items(stack: &Stack) -> i32 {
    payouts_e2e::dynamodb::local_client()
        .await
        .scan()
        .table_name(&stack.table)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap()
        .count()
}

#[tokio::test]
async fn hostile_create_bodies_are_refused_and_write_nothing() {
    let stack = Stack::start().await;
    let mut failures = Vec::new();
    for case in create_cases() {
        let answer = stack.create_raw(case.body).await;
        let ok = answer.status == case.status
            && answer.error_code() == Some(case.code)
            && case.field.is_none_or(|f| answer.error_field() == Some(f));
        if !ok {
            failures.push(format!(
                "{}: {} {:?} (expected {} {} {:?})",
                case.name, answer.status, answer.body, case.status, case.code, case.field
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(table_items(&stack).await, 0, "a refused request wrote");
    assert_eq!(stack.sim().count("create-payout-invoice").await.unwrap(), 0);
    // And the service still works.
    assert_eq!(
        stack.create(&payout_body("INV-HOSTILE-OK")).await.status,
        201
    );
}

#[tokio::test]
async fn path_traversal_and_lookalikes_in_the_lookup_path_are_refused() {
    let stack = Stack::start().await;
    let cases: [(&str, &[u16]); 14] = [
        // Decoded, the segment holds '/' or '\\' or NUL or a non-ASCII letter: not a ref.
        ("/payouts/..%2F..%2Fetc%2Fpasswd", &[400]),
        ("/payouts/%2e%2e%2f%2e%2e%2fetc%2fpasswd", &[400]),
        ("/payouts/..%5C..%5Cwindows", &[400]),
        ("/payouts/INV-1%00", &[400]),
        ("/payouts/%D0%86NV-1", &[400]),
        ("/payouts/INV%E2%80%901", &[400]),
        ("/payouts/INV%E2%80%8B-1", &[400]),
        ("/payouts/%FF%FE", &[400]),
        ("/payouts/%252e%252e%252f", &[400]),
        ("/payouts/", &[400, 404]),
        // Raw dots and slashes: another route (none: 404) or a ref that is only a key (404).
        ("/payouts/../../etc/passwd", &[404]),
        ("/payouts/..", &[404]),
        ("/payouts/./INV-1", &[404]),
        ("/payouts/INV-1/../../..", &[404]),
    ];
    let mut failures = Vec::new();
    for (path, allowed) in cases {
        let (status, body) = raw_get(&stack, path).await;
        let code = body["error"]["code"].as_str().unwrap_or("");
        let right_code = match status {
            400 => code == "invalid_request",
            404 => code == "not_found",
            _ => false,
        };
        if !allowed.contains(&status) || !right_code {
            failures.push(format!("{path}: {status} {body}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(table_items(&stack).await, 0);
    assert_eq!(
        stack
            .sim()
            .count("get-payout-transaction-by-id")
            .await
            .unwrap(),
        0,
        "a refused lookup never asks LeanX"
    );
}

#[tokio::test]
async fn hostile_callbacks_are_refused_and_change_nothing() {
    let stack = Stack::start().await;
    let none_token = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(br#"{"output":{"invoice_no":"X","invoice_status":"SUCCESS"}}"#)
        )
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("over 16 KiB", vec![b' '; 16 * KIB + 1], 413),
        ("nested 5,000 deep", nested(5_000).into_bytes(), 400),
        ("invalid UTF-8", b"{\"data\":\"\xff\xfe\"}".to_vec(), 400),
        ("data is not a string", br#"{"data":[1,2,3]}"#.to_vec(), 400),
        (
            "alg none",
            json!({ "data": none_token }).to_string().into_bytes(),
            401,
        ),
        (
            "token of 15 KiB of dots",
            json!({ "data": ".".repeat(15 * KIB) })
                .to_string()
                .into_bytes(),
            401,
        ),
    ];
    let mut failures = Vec::new();
    for (name, body, status) in cases {
        let answer = stack.callback_raw(body).await;
        if answer.status != status {
            failures.push(format!("{name}: {} {:?}", answer.status, answer.body));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(table_items(&stack).await, 0, "nothing recorded");
}
