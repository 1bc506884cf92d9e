//! Tests of the Lambda Runtime API emulator + API Gateway HTTP API front, driving the real
//! `hello-lambda` binary (a `lambda_http` function) through real HTTP.

use std::time::Duration;

use lambda_emulator::{
    Emulator, EmulatorError, FunctionSpec, InvocationOutcome, Method, Options, Route,
    bind_loopback, scheduled_event, target_binary,
};
use serde_json::{Value, json};

const HELLO: &str = env!("CARGO_BIN_EXE_hello-lambda");

fn hello() -> FunctionSpec {
    FunctionSpec::new("hello", HELLO).env("HELLO_GREETING", "hi")
}

fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::POST, "/payouts", "hello"),
        Route::new(Method::GET, "/payouts/{external_invoice_ref}", "hello"),
        Route::new(Method::POST, "/callbacks/leanx", "hello"),
    ]
}

async fn start() -> Emulator {
    Emulator::start(vec![hello()], routes())
        .await
        .expect("emulator starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn get(emu: &Emulator, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", emu.base_url()))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn get_reaches_function_with_path_parameter_query_and_headers() {
    let emu = start().await;
    let resp = client()
        .get(format!(
            "{}/payouts/INV-42%2F7?status=201&a=1&a=2&q=x%20y",
            emu.base_url()
        ))
        .header("X-Custom", "one")
        .header("cookie", "c1=v1; c2=v2")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["x-hello"], "world");
    assert!(resp.headers().contains_key("apigw-requestid"));
    let cookies: Vec<_> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; Path=/"]);
    let echo: Value = resp.json().await.unwrap();
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["raw_path"], "/payouts/INV-42%2F7");
    assert_eq!(
        echo["path_parameters"],
        json!({"external_invoice_ref": "INV-42/7"})
    );
    assert_eq!(echo["query"]["status"], json!(["201"]));
    assert_eq!(echo["query"]["a"], json!(["1", "2"]));
    assert_eq!(echo["query"]["q"], json!(["x y"]));
    assert_eq!(echo["headers"]["x-custom"], "one");
    assert_eq!(echo["headers"]["cookie"], "c1=v1; c2=v2");
    assert_eq!(echo["body"], Value::Null);
    assert!(
        emu.logs("hello")
            .iter()
            .any(|l| l.starts_with("hello-lambda: init")),
        "{:?}",
        emu.all_logs()
    );
}

#[tokio::test]
async fn post_bodies_arrive_intact_text_large_and_binary() {
    let emu = start().await;
    let url = format!("{}/payouts", emu.base_url());

    let resp = client()
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"amount":"10.50"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let echo: Value = resp.json().await.unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/payouts");
    assert_eq!(echo["body"], r#"{"amount":"10.50"}"#);
    assert_eq!(echo["headers"]["content-type"], "application/json");

    let big = "x".repeat(20 * 1024);
    let echo: Value = client()
        .post(&url)
        .body(big.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echo["body_len"], 20 * 1024);
    assert_eq!(echo["body"], big);

    // Not UTF-8: travels base64-encoded in the event, arrives as the same bytes.
    let binary: Vec<u8> = vec![0xff, 0xfe, 0x00, 0x80, b'a', 0xc3];
    let echo: Value = client()
        .post(&url)
        .body(binary.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(echo["body_is_binary"], true);
    assert_eq!(echo["body"], json!(binary));

    // A binary response (isBase64Encoded) comes back as the raw bytes.
    let resp = client()
        .post(format!("{url}?raw=1&status=202"))
        .body(binary.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.headers()["content-type"], "application/octet-stream");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), binary.as_slice());
}

#[tokio::test]
async fn unknown_route_is_404() {
    let emu = start().await;
    for resp in [
        get(&emu, "/nope").await,
        get(&emu, "/payouts").await, // wrong method
        get(&emu, "/payouts/a/b").await,
    ] {
        assert_eq!(resp.status(), 404);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "no route"}})
        );
    }
    assert!(emu.stats("hello").unwrap().invocations.is_empty());
}

#[tokio::test]
async fn crash_mid_invocation_is_502_and_next_request_gets_a_fresh_process() {
    let emu = start().await;
    let first: Value = get(&emu, "/payouts/A").await.json().await.unwrap();
    let pid = first["pid"].as_u64().unwrap();

    let resp = get(&emu, "/payouts/A?exit=1").await;
    assert_eq!(resp.status(), 502);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"message": "Internal Server Error"})
    );

    let after: Value = get(&emu, "/payouts/A").await.json().await.unwrap();
    assert_ne!(
        after["pid"].as_u64().unwrap(),
        pid,
        "a new process serves after the crash"
    );
    let stats = emu.stats("hello").unwrap();
    assert_eq!(stats.inits.len(), 2);
    let outcomes: Vec<_> = stats.invocations.iter().map(|i| i.outcome).collect();
    assert_eq!(
        outcomes,
        [
            InvocationOutcome::Success,
            InvocationOutcome::Crashed,
            InvocationOutcome::Success
        ]
    );
    assert!(
        emu.logs("hello")
            .iter()
            .any(|l| l.contains("exiting mid-invocation"))
    );
}

#[tokio::test]
async fn handler_panic_is_502_and_the_process_survives() {
    let emu = start().await;
    let pid = emu.pid("hello").unwrap();
    let resp = get(&emu, "/payouts/A?panic=1").await;
    assert_eq!(resp.status(), 502);
    let echo: Value = get(&emu, "/payouts/A").await.json().await.unwrap();
    assert_eq!(echo["pid"].as_u64(), Some(u64::from(pid)));
    let outcomes: Vec<_> = emu
        .stats("hello")
        .unwrap()
        .invocations
        .iter()
        .map(|i| i.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [InvocationOutcome::FunctionError, InvocationOutcome::Success]
    );
}

#[tokio::test]
async fn timeout_is_504_and_resets_the_process() {
    let options = Options {
        timeout: Duration::from_millis(1500),
        ..Options::default()
    };
    let emu = Emulator::start_with(vec![hello()], routes(), options)
        .await
        .unwrap();
    emu.wait_ready("hello", Duration::from_secs(10))
        .await
        .unwrap();
    let pid = emu.pid("hello").unwrap();

    let started = std::time::Instant::now();
    let resp = get(&emu, "/payouts/A?sleep_ms=10000").await;
    assert_eq!(resp.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(5));

    let echo: Value = get(&emu, "/payouts/A?sleep_ms=10")
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(
        echo["pid"].as_u64(),
        Some(u64::from(pid)),
        "the timed-out environment was replaced"
    );
}

#[tokio::test]
async fn invoke_raw_with_a_scheduled_event() {
    assert_eq!(target_binary("hello-lambda"), std::path::Path::new(HELLO));
    let raw =
        FunctionSpec::new("reconcile", target_binary("hello-lambda")).env("HELLO_MODE", "raw");
    let emu = Emulator::start(vec![raw, hello()], routes()).await.unwrap();
    let event = scheduled_event("reconcile-every-minute");
    assert_eq!(event["detail-type"], "Scheduled Event");
    let out = emu.invoke_raw("reconcile", event.clone()).await.unwrap();
    assert_eq!(out["echo"], event);
    assert!(out["request_id"].as_str().is_some_and(|id| !id.is_empty()));

    // An HTTP function cannot parse a scheduled event: the runtime reports an error.
    let err = emu.invoke_raw("hello", event).await.unwrap_err();
    assert!(
        matches!(err, EmulatorError::FunctionError { .. }),
        "{err:?}"
    );
    assert!(matches!(
        emu.invoke_raw("nope", json!({})).await,
        Err(EmulatorError::UnknownFunction(_))
    ));
}

#[tokio::test]
async fn kill_then_request_works_and_init_duration_is_recorded() {
    let emu = start().await;
    emu.wait_ready("hello", Duration::from_secs(10))
        .await
        .unwrap();
    let pid = emu.pid("hello").unwrap();
    let init = emu.stats("hello").unwrap().inits[0].clone();
    assert_eq!(init.pid, Some(pid));
    assert!(
        init.init_duration()
            .is_some_and(|d| d < Duration::from_secs(10))
    );

    emu.kill("hello").await.unwrap();
    assert_eq!(emu.pid("hello"), None);
    assert!(
        emu.logs("hello")
            .iter()
            .any(|l| l.contains("SIGKILL") || l.contains("signal: 9")),
        "{:?}",
        emu.logs("hello")
    );

    let echo: Value = get(&emu, "/payouts/B").await.json().await.unwrap();
    assert_ne!(echo["pid"].as_u64(), Some(u64::from(pid)));
    let stats = emu.stats("hello").unwrap();
    assert_eq!(stats.inits.len(), 2);
    assert!(stats.inits.iter().all(|i| i.init_duration().is_some()));
    let invocation = &stats.invocations[0];
    assert_eq!(invocation.outcome, InvocationOutcome::Success);
    assert!(invocation.handler_duration().unwrap() <= invocation.total_duration());
}

#[tokio::test]
async fn concurrent_requests_queue_or_spread_over_instances() {
    // One instance: requests queue and all succeed.
    let emu = start().await;
    let calls = (0..4).map(|_| {
        client()
            .get(format!("{}/payouts/C?sleep_ms=100", emu.base_url()))
            .send()
    });
    for resp in futures_join(calls).await {
        let resp = resp.unwrap();
        assert_eq!(resp.status(), 200);
    }
    // Two instances: two processes serve concurrently.
    let options = Options {
        instances: 2,
        ..Options::default()
    };
    let emu2 = Emulator::start_with(vec![hello()], routes(), options)
        .await
        .unwrap();
    assert_eq!(emu2.pids("hello").len(), 2);
    let calls = (0..4).map(|_| {
        client()
            .get(format!("{}/payouts/C?sleep_ms=200", emu2.base_url()))
            .send()
    });
    let mut pids = Vec::new();
    for resp in futures_join(calls).await {
        pids.push(
            resp.unwrap().json::<Value>().await.unwrap()["pid"]
                .as_u64()
                .unwrap(),
        );
    }
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 2);
    emu2.shutdown().await;
}

/// Runs the futures concurrently on this task (no extra dependency on `futures`).
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for f in futures {
        set.spawn(f);
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

#[tokio::test]
async fn sigkill_mid_request_is_502_and_the_next_request_recovers() {
    let emu = start().await;
    emu.wait_ready("hello", Duration::from_secs(10))
        .await
        .unwrap();
    let url = format!("{}/payouts/D?sleep_ms=3000", emu.base_url());
    let in_flight = tokio::spawn(async move { client().get(url).send().await.unwrap() });
    // Wait until the process has taken the event from `invocation/next`, then kill it mid-handler.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while emu.in_flight("hello") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "event never handed out"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    emu.kill("hello").await.unwrap();
    let resp = in_flight.await.unwrap();
    assert_eq!(resp.status(), 502);
    assert_eq!(get(&emu, "/payouts/D").await.status(), 200);
    let outcomes: Vec<_> = emu
        .stats("hello")
        .unwrap()
        .invocations
        .iter()
        .map(|i| i.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [InvocationOutcome::Crashed, InvocationOutcome::Success]
    );
}

#[tokio::test]
async fn the_front_serves_on_the_listener_it_is_handed() {
    let listener = bind_loopback().unwrap();
    let addr = listener.local_addr().unwrap();
    let options = Options {
        front: Some(listener),
        ..Options::default()
    };
    let emu = Emulator::start_with(vec![hello()], routes(), options)
        .await
        .unwrap();
    assert_eq!(emu.addr(), addr);
    assert_eq!(get(&emu, "/payouts/E").await.status(), 200);
}
