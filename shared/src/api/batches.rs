//! The batch resource (API.md "POST /payout-batches") and a batch's items as CSV.

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{BatchTally, Payout, PayoutStatus, mask_account};
use crate::usecases::BatchProgress;

use super::merchant::two_decimals;

/// `{ "PENDING": n, "PROCESSING": n, "SUCCEEDED": n, "FAILED": n }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct StatusCounts {
    pub pending: u32,
    pub processing: u32,
    pub succeeded: u32,
    pub failed: u32,
}

/// The same keys, as exact two-decimal strings (MYR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct StatusAmounts {
    #[schema(pattern = r"^[0-9]+\.[0-9]{2}$")]
    pub pending: String,
    #[schema(pattern = r"^[0-9]+\.[0-9]{2}$")]
    pub processing: String,
    #[schema(pattern = r"^[0-9]+\.[0-9]{2}$")]
    pub succeeded: String,
    #[schema(pattern = r"^[0-9]+\.[0-9]{2}$")]
    pub failed: String,
}

/// API.md's batch resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PayoutBatch)]
pub struct BatchView {
    #[schema(pattern = r"^[A-Za-z0-9_.:-]{1,64}$", example = "PAYROLL-2026-11")]
    pub batch_ref: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub item_count: u32,
    /// The sum of every item's amount, exact.
    #[schema(pattern = r"^[0-9]+\.[0-9]{2}$")]
    pub total_amount: String,
    pub counts: StatusCounts,
    pub amounts: StatusAmounts,
    /// Every item is recorded and final.
    pub complete: bool,
}

impl From<&BatchProgress> for BatchView {
    fn from(progress: &BatchProgress) -> Self {
        let tally: &BatchTally = &progress.tally;
        let amount = |s| two_decimals(tally.amount(s));
        BatchView {
            batch_ref: progress.batch.batch_ref.to_string(),
            created_at: progress
                .batch
                .created_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            item_count: progress.batch.item_count,
            total_amount: two_decimals(progress.batch.total_amount),
            counts: StatusCounts {
                pending: tally.count(PayoutStatus::Pending),
                processing: tally.count(PayoutStatus::Processing),
                succeeded: tally.count(PayoutStatus::Succeeded),
                failed: tally.count(PayoutStatus::Failed),
            },
            amounts: StatusAmounts {
                pending: amount(PayoutStatus::Pending),
                processing: amount(PayoutStatus::Processing),
                succeeded: amount(PayoutStatus::Succeeded),
                failed: amount(PayoutStatus::Failed),
            },
            complete: progress.is_complete(),
        }
    }
}

/// The CSV's header line (API.md): one row per item follows, in the batch's order.
pub const CSV_HEADER: &str = "external_invoice_ref,amount,recipient_name,third_party_account_no,status,failure_code,invoice_no,updated_at";

/// A batch's items as CSV (RFC 4180: CRLF line ends, fields quoted when they need it). The
/// account is masked, as everywhere but the payout resource itself.
pub fn items_csv(items: &[Payout]) -> String {
    let mut out = String::with_capacity(64 + items.len() * 96);
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for p in items {
        let fields = [
            p.external_invoice_ref.to_string(),
            p.amount.to_client_string(),
            p.recipient_name.clone(),
            mask_account(&p.third_party_account_no),
            p.status.as_str().to_owned(),
            p.failure
                .as_ref()
                .map(|f| f.code.clone())
                .unwrap_or_default(),
            p.invoice_no.clone().unwrap_or_default(),
            p.updated_at
                .with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Millis, true),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&csv_field(field));
        }
        out.push_str("\r\n");
    }
    out
}

/// A field quoted when it holds a comma, a quote or a line break (quotes doubled); and a
/// leading `=`, `+`, `-` or `@` defused with a quote, so a spreadsheet never runs a name as a
/// formula.
fn csv_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if defused.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::payout::sample_payout;

    #[test]
    fn the_csv_has_the_header_and_one_masked_row_per_item() {
        let p = sample_payout(PayoutStatus::Succeeded);
        let csv = items_csv(&[p]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert!(lines[1].starts_with("INV-1,13.00,John,"), "{}", lines[1]);
        assert!(
            !csv.contains("8011408168"),
            "full account number in the CSV"
        );
        assert!(lines[1].contains(",SUCCEEDED,"));
        assert_eq!(lines.len(), 3, "header, one row, and the final CRLF");
    }

    #[test]
    fn a_field_with_a_comma_or_quote_is_quoted_and_a_formula_is_defused() {
        assert_eq!(csv_field("Tan, Ah Kow"), "\"Tan, Ah Kow\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("plain"), "plain");
    }
}
