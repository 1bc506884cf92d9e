//! CloudWatch metrics as Embedded Metric Format (EMF) lines.
//!
//! Each metric is one JSON object on one stdout line with an `_aws.CloudWatchMetrics` directive.
//! Lambda sends stdout to CloudWatch Logs, which turns such lines into metrics with no API call,
//! no extra permission and no latency; the same line stays searchable in Logs Insights.
//!
//! Namespace [`NAMESPACE`]; every metric is published under two dimension sets: `Service`
//! (account-wide) and `FunctionName` (the Lambda function, so one stack's alarms never see
//! another stage's numbers). Outside Lambda (`AWS_LAMBDA_FUNCTION_NAME` unset) only `Service`.
//!
//! | metric | unit | emitted by | when |
//! |---|---|---|---|
//! | `PayoutsCreated` | Count | create-payout | a new `external_invoice_ref` is recorded |
//! | `PayoutsSucceeded` | Count | any | a payout moves to SUCCEEDED |
//! | `PayoutsFailed` | Count | any | a payout moves to FAILED |
//! | `CallbacksRejected` | Count | leanx-callback | a callback is refused (property `reason`) |
//! | `ReconcilerLagSeconds` | Seconds | reconcile-payouts | how late the most overdue check was |
//! | `OpenPayoutsChecked` | Count | reconcile-payouts | open payouts checked in one pass |
//! | `OldestOpenPayoutAgeSeconds` | Seconds | reconcile-payouts | age of the oldest open payout on the due index, every pass (0 when none) |
//! | `PayoutsContradicted` | Count | any | LeanX contradicted a final payout (it is marked `attention`) |
//! | `CallbacksUnmatched` | Count | leanx-callback | a verified callback matched no payout, or disagreed with it |
//! | `UndecodableItems` | Count | reconcile-payouts | a due item that does not decode was skipped |
//! | `UnknownLeanxStatuses` | Count | any | LeanX answered a `transaction_status` the code does not know |
//! | `UnrecognisedLeanxAnswers` | Count | any | a lookup answered a refusal that is neither a success nor a recognised not-found |
//!
//! A line never carries a payout's fields: only counts, durations and a short reason.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::domain::PayoutStatus;
use crate::leanx::CallbackError;

pub const NAMESPACE: &str = "LeanxPayouts";
/// The value of the `Service` dimension.
pub const SERVICE: &str = "leanx-payouts";

pub const PAYOUTS_CREATED: &str = "PayoutsCreated";
pub const PAYOUTS_SUCCEEDED: &str = "PayoutsSucceeded";
pub const PAYOUTS_FAILED: &str = "PayoutsFailed";
pub const CALLBACKS_REJECTED: &str = "CallbacksRejected";
pub const RECONCILER_LAG_SECONDS: &str = "ReconcilerLagSeconds";
pub const OPEN_PAYOUTS_CHECKED: &str = "OpenPayoutsChecked";
pub const OLDEST_OPEN_PAYOUT_AGE_SECONDS: &str = "OldestOpenPayoutAgeSeconds";
pub const PAYOUTS_CONTRADICTED: &str = "PayoutsContradicted";
pub const CALLBACKS_UNMATCHED: &str = "CallbacksUnmatched";
pub const UNDECODABLE_ITEMS: &str = "UndecodableItems";
pub const UNKNOWN_LEANX_STATUSES: &str = "UnknownLeanxStatuses";
pub const UNRECOGNISED_LEANX_ANSWERS: &str = "UnrecognisedLeanxAnswers";

/// CloudWatch units used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

impl Unit {
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One metric value (whole numbers only: counts and seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub value: i64,
}

impl Metric {
    pub const fn count(name: &'static str, value: i64) -> Metric {
        Metric {
            name,
            unit: Unit::Count,
            value,
        }
    }

    pub const fn seconds(name: &'static str, value: i64) -> Metric {
        Metric {
            name,
            unit: Unit::Seconds,
            value,
        }
    }
}

/// The EMF line for `metrics` at `at`, published by `function` (None outside Lambda), with
/// extra searchable `properties` that are not dimensions. One JSON object, no newline.
pub fn emf_line(
    at: DateTime<Utc>,
    function: Option<&str>,
    metrics: &[Metric],
    properties: &[(&str, &str)],
) -> String {
    let mut dimensions = vec![json!(["Service"])];
    let mut root = Map::new();
    root.insert("Service".into(), json!(SERVICE));
    if let Some(function) = function.filter(|f| !f.is_empty()) {
        dimensions.push(json!(["FunctionName"]));
        root.insert("FunctionName".into(), json!(function));
    }
    for (name, value) in properties {
        root.insert((*name).into(), json!(value));
    }
    for metric in metrics {
        root.insert(metric.name.into(), json!(metric.value));
    }
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|m| json!({ "Name": m.name, "Unit": m.unit.as_str() }))
        .collect();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(root).to_string()
}

/// Prints one EMF line to stdout for this function.
pub fn emit(metrics: &[Metric], properties: &[(&str, &str)]) {
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok();
    println!(
        "{}",
        emf_line(Utc::now(), function.as_deref(), metrics, properties)
    );
}

/// A new payout was recorded.
pub fn payout_created() {
    emit(&[Metric::count(PAYOUTS_CREATED, 1)], &[]);
}

/// A payout's status changed to `to`: counts the final ones.
pub fn status_changed(to: PayoutStatus) {
    match to {
        PayoutStatus::Succeeded => emit(&[Metric::count(PAYOUTS_SUCCEEDED, 1)], &[]),
        PayoutStatus::Failed => emit(&[Metric::count(PAYOUTS_FAILED, 1)], &[]),
        PayoutStatus::Pending | PayoutStatus::Processing => {}
    }
}

/// A callback was refused. The `reason` property is one word per kind of refusal (never the
/// token or the verifier's text).
pub fn callback_rejected(error: &CallbackError) {
    emit(
        &[Metric::count(CALLBACKS_REJECTED, 1)],
        &[("reason", rejection_reason(error))],
    );
}

/// The `reason` property of [`CALLBACKS_REJECTED`].
pub fn rejection_reason(error: &CallbackError) -> &'static str {
    match error {
        CallbackError::TooLarge => "too_large",
        CallbackError::NotJson => "not_json",
        CallbackError::NoData => "no_data",
        CallbackError::Untrusted(_) => "untrusted",
    }
}

/// LeanX contradicted a final payout.
pub fn payout_contradicted() {
    emit(&[Metric::count(PAYOUTS_CONTRADICTED, 1)], &[]);
}

/// A verified callback was kept unmatched instead of applied.
pub fn callback_unmatched() {
    emit(&[Metric::count(CALLBACKS_UNMATCHED, 1)], &[]);
}

/// Due items that did not decode were skipped by a reconciler pass.
pub fn undecodable_items(count: usize) {
    emit(
        &[Metric::count(
            UNDECODABLE_ITEMS,
            i64::try_from(count).unwrap_or(i64::MAX),
        )],
        &[],
    );
}

/// LeanX answered a `transaction_status` the code does not know.
pub fn unknown_leanx_status() {
    emit(&[Metric::count(UNKNOWN_LEANX_STATUSES, 1)], &[]);
}

/// A lookup answered a refusal that is neither a success nor a recognised not-found.
pub fn unrecognised_leanx_answer() {
    emit(&[Metric::count(UNRECOGNISED_LEANX_ANSWERS, 1)], &[]);
}

/// One reconciler pass: how late its most overdue check was, how many open payouts it checked,
/// and the age of the oldest of them (0 when there were none, so an idle service reads 0 rather
/// than no data).
pub fn reconciled(lag_seconds: Option<i64>, checked: usize, oldest_age_seconds: Option<i64>) {
    emit(
        &[
            Metric::seconds(RECONCILER_LAG_SECONDS, lag_seconds.unwrap_or(0)),
            Metric::count(
                OPEN_PAYOUTS_CHECKED,
                i64::try_from(checked).unwrap_or(i64::MAX),
            ),
            Metric::seconds(
                OLDEST_OPEN_PAYOUT_AGE_SECONDS,
                oldest_age_seconds.unwrap_or(0).max(0),
            ),
        ],
        &[],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 123_000_000).expect("valid time")
    }

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect("an EMF line is one JSON object")
    }

    #[test]
    fn a_line_is_one_json_object_with_the_emf_directive() {
        let line = emf_line(
            at(),
            Some("stack-CreatePayoutFunction-1"),
            &[Metric::count(PAYOUTS_CREATED, 1)],
            &[],
        );
        assert!(!line.contains('\n'));
        let v = parse(&line);
        assert_eq!(v["_aws"]["Timestamp"], 1_800_000_000_123_i64);
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "LeanxPayouts");
        assert_eq!(
            directive["Dimensions"],
            json!([["Service"], ["FunctionName"]])
        );
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "PayoutsCreated", "Unit": "Count" }])
        );
        assert_eq!(v["PayoutsCreated"], 1);
        assert_eq!(v["Service"], "leanx-payouts");
        assert_eq!(v["FunctionName"], "stack-CreatePayoutFunction-1");
    }

    #[test]
    fn every_dimension_and_metric_has_a_root_member() {
        let line = emf_line(
            at(),
            Some("f"),
            &[
                Metric::seconds(RECONCILER_LAG_SECONDS, 42),
                Metric::count(OPEN_PAYOUTS_CHECKED, 3),
            ],
            &[(
                "reason",
                rejection_reason(&CallbackError::Untrusted("s3cret".into())),
            )],
        );
        let v = parse(&line);
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        for set in directive["Dimensions"].as_array().unwrap() {
            for name in set.as_array().unwrap() {
                assert!(v[name.as_str().unwrap()].is_string(), "{name}");
            }
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(v[metric["Name"].as_str().unwrap()].is_i64(), "{metric}");
        }
        assert_eq!(directive["Metrics"][0]["Unit"], "Seconds");
        assert_eq!(v["ReconcilerLagSeconds"], 42);
        assert_eq!(v["reason"], "untrusted");
        assert!(!line.contains("s3cret"));
    }

    #[test]
    fn outside_lambda_only_the_service_dimension_is_used() {
        for function in [None, Some("")] {
            let v = parse(&emf_line(
                at(),
                function,
                &[Metric::count(PAYOUTS_FAILED, 1)],
                &[],
            ));
            assert_eq!(
                v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                json!([["Service"]])
            );
            assert!(v.get("FunctionName").is_none());
        }
    }
}
