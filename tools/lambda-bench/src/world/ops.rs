//! The operation each function is measured with, and what the operations pass along.

use lambda_emulator::{Emulator, scheduled_event};
use serde_json::{Value, json};

use super::{BASELINE, World};
use crate::BenchResult;

/// What the operations pass along: payouts created (ref, invoice_no), payouts made final.
#[derive(Default)]
pub struct Ledger {
    seq: usize,
    pub created: Vec<(String, String)>,
    pub next_callback: usize,
    pub finals: Vec<String>,
    next_get: usize,
    tag: String,
}

impl Ledger {
    /// An empty ledger whose refs carry a tag of their own (runs never share a ref).
    pub fn new() -> Ledger {
        Ledger {
            tag: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
            ..Ledger::default()
        }
    }
}

/// The operation each binary is measured with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Hello,
    Create,
    Callback,
    Get,
    List,
    Reconcile,
    Services,
    Verify,
    Balance,
}

impl Op {
    /// The functions' operations, in the report's column order.
    pub const MEASURED: [Op; 8] = [
        Op::Create,
        Op::Get,
        Op::List,
        Op::Callback,
        Op::Reconcile,
        Op::Services,
        Op::Verify,
        Op::Balance,
    ];

    pub fn function(self) -> &'static str {
        match self {
            Op::Hello => BASELINE,
            Op::Create => "create-payout",
            Op::Get => "get-payout",
            Op::List => "list-payouts",
            Op::Callback => "leanx-callback",
            Op::Reconcile => "reconcile-payouts",
            Op::Services => "list-payout-services",
            Op::Verify => "verify-recipient",
            Op::Balance => "get-balance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Op::Hello => "GET /hello (fixed JSON)",
            Op::Create => "POST /payouts (new ref, LeanX accepts)",
            Op::Get => "GET /payouts/{ref} of a SUCCEEDED payout",
            Op::List => "GET /payouts?limit=20 (a page of the payouts made, newest first)",
            Op::Callback => "POST /callbacks/leanx (PROCESSING -> SUCCEEDED)",
            Op::Reconcile => "scheduled tick, nothing due",
            Op::Services => "GET /payout-services (LeanX asked once per container, then cached)",
            Op::Verify => "POST /recipient-verifications (LeanX names the holder; kept)",
            Op::Balance => "GET /balance (LeanX overall-balance)",
        }
    }
}

impl World {
    /// Runs one operation through the emulator's front (or its invoke API) and checks it.
    pub async fn op(&self, emulator: &Emulator, ledger: &mut Ledger, op: Op) -> BenchResult<()> {
        let url = |path: &str| format!("{}{path}", emulator.base_url());
        match op {
            Op::Hello => {
                let (status, _) = self.send(self.http.get(url("/hello"))).await?;
                expect(status == 200, op, status, &Value::Null)
            }
            Op::Create => {
                ledger.seq += 1;
                let external_ref = format!("BENCH-{}-{}", ledger.tag, ledger.seq);
                let request = self
                    .http
                    .post(url("/payouts"))
                    .header("content-type", "application/json")
                    .body(payout_body(&external_ref).to_string());
                let (status, body) = self.send(request).await?;
                expect(
                    status == 201 && body["status"] == "PROCESSING",
                    op,
                    status,
                    &body,
                )?;
                let invoice_no = body["invoice_no"].as_str().unwrap_or_default().to_owned();
                ledger.created.push((external_ref, invoice_no));
                Ok(())
            }
            Op::Callback => {
                let (external_ref, invoice_no) = ledger
                    .created
                    .get(ledger.next_callback)
                    .cloned()
                    .ok_or("not enough payouts created for the callbacks")?;
                ledger.next_callback += 1;
                let (status, body) = self.callback(emulator, &external_ref, &invoice_no).await?;
                expect(status == 200, op, status, &body)?;
                ledger.finals.push(external_ref);
                Ok(())
            }
            Op::Get => {
                let external_ref = ledger
                    .finals
                    .get(ledger.next_get % ledger.finals.len().max(1))
                    .cloned()
                    .ok_or("no final payout to look up")?;
                ledger.next_get += 1;
                let (status, body) = self
                    .send(self.http.get(url(&format!("/payouts/{external_ref}"))))
                    .await?;
                expect(
                    status == 200 && body["status"] == "SUCCEEDED",
                    op,
                    status,
                    &body,
                )
            }
            Op::List => {
                let (status, body) = self.send(self.http.get(url("/payouts?limit=20"))).await?;
                expect(
                    status == 200 && body["payouts"].as_array().is_some_and(|p| !p.is_empty()),
                    op,
                    status,
                    &body,
                )
            }
            Op::Reconcile => {
                let report = emulator
                    .invoke_raw(
                        "reconcile-payouts",
                        scheduled_event("reconcile-payouts-every-minute"),
                    )
                    .await
                    .map_err(|e| format!("reconcile-payouts: {e}"))?;
                expect(report["checked"] == 0, op, 200, &report)
            }
            Op::Services => {
                let (status, body) = self.send(self.http.get(url("/payout-services"))).await?;
                expect(
                    status == 200 && body["payout_services"].is_array(),
                    op,
                    status,
                    &body,
                )
            }
            Op::Verify => {
                let request = self
                    .http
                    .post(url("/recipient-verifications"))
                    .header("content-type", "application/json")
                    .body(
                        json!({ "payout_service_id": 23, "third_party_account_no": "8011408168",
                            "recipient_name": "John Doe" })
                        .to_string(),
                    );
                let (status, body) = self.send(request).await?;
                expect(
                    status == 200 && body["name_match"] == "exact",
                    op,
                    status,
                    &body,
                )
            }
            Op::Balance => {
                let (status, body) = self.send(self.http.get(url("/balance"))).await?;
                expect(
                    status == 200 && body["prefund_balance"].is_string(),
                    op,
                    status,
                    &body,
                )
            }
        }
    }

    async fn callback(
        &self,
        emulator: &Emulator,
        external_ref: &str,
        invoice_no: &str,
    ) -> BenchResult<(u16, Value)> {
        let body = json!({ "data": self.token(external_ref, invoice_no)? }).to_string();
        let request = self
            .http
            .post(self.callback_url(emulator)?)
            .header("content-type", "application/json")
            .body(body);
        self.send(request).await
    }
}

fn expect(ok: bool, op: Op, status: u16, body: &Value) -> BenchResult<()> {
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{}: unexpected answer {status} {body}",
            op.function()
        ))
    }
}

/// API.md's example request under another ref.
fn payout_body(external_ref: &str) -> Value {
    json!({
        "external_invoice_ref": external_ref,
        "payout_service_id": 23,
        "amount": "13.00",
        "recipient_name": "John Doe",
        "third_party_account_no": "8011408168",
        "recipient_reference": "Salary Nov"
    })
}
