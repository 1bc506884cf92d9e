//! LeanX's success callback token, as LEANX.md describes it: an HS256 JWT signed with the
//! merchant's Hash Key, without `exp`/`iat`, every claim under `output`. The simulator posts
//! it; other crates' tests use it to forge or replay callbacks exactly as LeanX would send them.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::config::DEFAULT_POOL;
use crate::wire::money;

/// What a success callback says about one payout. `new` fills the rest with the values the
/// project's tests use everywhere (service 23, the default pool, "Salary Nov", "JOHN DOE").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuccessCallback {
    pub invoice_no: String,
    /// Sent as a string with two decimals (`"13.00"`), as LeanX does.
    pub amount: Decimal,
    pub payout_service_id: i64,
    pub client_callback_url: String,
    pub virtual_pool_reference: String,
    pub external_invoice_ref: Option<String>,
    pub recipient_reference: String,
    pub bank_reference_no: Option<String>,
    /// `bank_response.Result.DisplayName`: the holder's name as the bank has it.
    pub display_name: String,
    pub account_no: String,
    /// `payout_payment.item.balance`: the pool after the payout, an exact JSON number.
    pub balance: Decimal,
}

#[derive(Serialize)]
struct Claims<'a> {
    output: Output<'a>,
}

#[derive(Serialize)]
struct Output<'a> {
    invoice_no: &'a str,
    invoice_status: &'static str,
    invoice_status_id: u8,
    amount: String,
    payout_service_id: i64,
    client_callback_url: &'a str,
    error_description: Vec<String>,
    client_data: Value,
    bank_response: Value,
    payout_payment: PayoutPayment,
    client_transaction_details: Option<Value>,
}

#[derive(Serialize)]
struct PayoutPayment {
    item: Item,
}

#[derive(Serialize)]
struct Item {
    // Raw so the balance stays an exact JSON number.
    balance: Box<RawValue>,
    currency: &'static str,
}

impl SuccessCallback {
    pub fn new(
        invoice_no: impl Into<String>,
        external_invoice_ref: impl Into<String>,
        amount: Decimal,
    ) -> Self {
        SuccessCallback {
            invoice_no: invoice_no.into(),
            amount,
            payout_service_id: 23,
            client_callback_url: String::new(),
            virtual_pool_reference: DEFAULT_POOL.to_string(),
            external_invoice_ref: Some(external_invoice_ref.into()),
            recipient_reference: "Salary Nov".to_string(),
            bank_reference_no: None,
            display_name: "JOHN DOE".to_string(),
            account_no: "8011408168".to_string(),
            balance: Decimal::ZERO,
        }
    }

    fn claims(&self) -> Claims<'_> {
        Claims {
            output: Output {
                invoice_no: &self.invoice_no,
                invoice_status: "SUCCESS",
                invoice_status_id: 2,
                amount: format!("{:.2}", self.amount),
                payout_service_id: self.payout_service_id,
                client_callback_url: &self.client_callback_url,
                error_description: Vec::new(),
                client_data: json!({
                    "virtual_pool_reference": self.virtual_pool_reference,
                    "external_invoice_ref": self.external_invoice_ref,
                    "recipient_reference": self.recipient_reference,
                }),
                bank_response: json!({
                    "Success": true,
                    "Result": {
                        "PaymentStatus": "ACSP",
                        "BankReferenceNo": self.bank_reference_no,
                        "DisplayName": self.display_name,
                        "CreditorAccountNo": self.account_no,
                    }
                }),
                payout_payment: PayoutPayment {
                    item: Item {
                        balance: money(self.balance),
                        currency: "MYR",
                    },
                },
                client_transaction_details: None,
            },
        }
    }

    /// The claims as JSON text (`{"output":{...}}`), e.g. to forge an unsigned or tampered token.
    pub fn claims_json(&self) -> String {
        serde_json::to_string(&self.claims()).unwrap_or_default()
    }

    /// The JWT LeanX would send: HS256 keyed with `hash_key`, no `exp`/`iat`.
    pub fn jwt(&self, hash_key: &str) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &self.claims(),
            &EncodingKey::from_secret(hash_key.as_bytes()),
        )
    }

    /// The callback request body: `{"data":"<JWT>","response_code":2100}`.
    pub fn body(&self, hash_key: &str) -> Result<String, jsonwebtoken::errors::Error> {
        Ok(json!({ "data": self.jwt(hash_key)?, "response_code": 2100 }).to_string())
    }
}
