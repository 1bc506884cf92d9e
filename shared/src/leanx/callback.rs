//! LeanX's success callback: `{ "data": "<JWT>" }`, HS256 signed with the merchant's Hash Key,
//! no `exp`/`iat` (LEANX.md). Nothing in it is trusted before the signature checks out.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::Deserialize;

use crate::domain::CallbackClaims;
use serde_json::value::RawValue;

use super::secret::Secret;
use crate::domain::{Amount, MAX_BODY_BYTES, request::amount_from_json};

/// Why a callback was not accepted, mapped to 400/413 (shape) or 401 (trust) by the handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("callback body must be at most 16 KiB")]
    TooLarge,
    #[error("callback body must be JSON")]
    NotJson,
    #[error("callback body has no data token")]
    NoData,
    /// Bad signature, wrong algorithm, malformed or truncated token, or claims that are not
    /// LeanX's: the sender cannot be trusted.
    #[error("callback token rejected: {0}")]
    Untrusted(String),
}

/// The verified `output` claims.
#[derive(Debug, Clone, Deserialize)]
pub struct CallbackOutput {
    pub invoice_no: String,
    pub invoice_status: String,
    #[serde(default)]
    pub invoice_status_id: Option<serde_json::Value>,
    /// `"1.00"` in LeanX's examples; a JSON number is read exactly too.
    #[serde(default)]
    pub amount: Option<Box<RawValue>>,
    #[serde(default)]
    pub payout_service_id: Option<serde_json::Value>,
    #[serde(default)]
    pub client_callback_url: Option<String>,
    #[serde(default)]
    pub error_description: Option<serde_json::Value>,
    #[serde(default)]
    pub client_data: Option<ClientData>,
    #[serde(default)]
    pub bank_response: Option<BankResponse>,
    #[serde(default)]
    pub payout_payment: Option<serde_json::Value>,
    #[serde(default)]
    pub client_transaction_details: Option<serde_json::Value>,
    /// Not in LeanX's published claims; compared when a delivery carries it.
    #[serde(default)]
    pub third_party_account_no: Option<String>,
}

/// A stable id for a callback token: a replay of the same token has the same id, so it is
/// recorded once. SHA-256 of the token text, hex, first 32 characters; never the token itself.
pub fn token_id(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let token = serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.data)
        .map(|d| match d {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
        .unwrap_or_default();
    let digest = Sha256::digest(token.as_bytes());
    format!("cb_{}", &hex::encode(digest)[..32])
}

impl CallbackOutput {
    pub fn external_invoice_ref(&self) -> Option<&str> {
        self.client_data
            .as_ref()?
            .external_invoice_ref
            .as_deref()
            .filter(|r| !r.is_empty())
    }

    pub fn is_success(&self) -> bool {
        self.invoice_status.eq_ignore_ascii_case("SUCCESS")
    }

    /// The facts matching needs, as the domain keeps them.
    pub fn claims(&self) -> CallbackClaims {
        let text = |v: &Option<serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let client = self.client_data.as_ref();
        CallbackClaims {
            invoice_no: self.invoice_no.clone(),
            invoice_status: self.invoice_status.clone(),
            amount: self.amount.as_ref().map(|a| a.get().to_owned()),
            external_invoice_ref: self.external_invoice_ref().map(str::to_owned),
            virtual_pool_reference: client.and_then(|c| c.virtual_pool_reference.clone()),
            recipient_reference: client.and_then(|c| c.recipient_reference.clone()),
            third_party_account_no: self.third_party_account_no.clone(),
            payout_service_id: text(&self.payout_service_id),
        }
    }

    /// The amount LeanX says it paid, if it sent a valid one.
    pub fn amount(&self) -> Option<Amount> {
        amount_from_json(self.amount.as_deref()?).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClientData {
    #[serde(default)]
    pub virtual_pool_reference: Option<String>,
    #[serde(default)]
    pub external_invoice_ref: Option<String>,
    #[serde(default)]
    pub recipient_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BankResponse {
    #[serde(rename = "Success", default)]
    pub success: Option<bool>,
    #[serde(rename = "Result", default)]
    pub result: Option<BankResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BankResult {
    #[serde(rename = "PaymentStatus", default)]
    pub payment_status: Option<String>,
    #[serde(rename = "BankReferenceNo", default)]
    pub bank_reference_no: Option<String>,
    #[serde(rename = "DisplayName", default)]
    pub display_name: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    output: CallbackOutput,
}

#[derive(Deserialize)]
struct Body {
    data: Option<serde_json::Value>,
}

/// Verifies a callback body and returns its claims. HS256 is pinned: `alg: none`, other
/// algorithms and a key confusion are refused by the library before any claim is read.
pub fn verify_callback(body: &[u8], hash_key: &Secret) -> Result<CallbackOutput, CallbackError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(CallbackError::TooLarge);
    }
    let body: Body = serde_json::from_slice(body).map_err(|_| CallbackError::NotJson)?;
    let token = match body.data {
        Some(serde_json::Value::String(token)) if !token.is_empty() => token,
        _ => return Err(CallbackError::NoData),
    };
    super::hs256::install();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.algorithms = vec![Algorithm::HS256];
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let key = DecodingKey::from_secret(hash_key.expose().as_bytes());
    let data = jsonwebtoken::decode::<Claims>(&token, &key, &validation).map_err(|e| {
        let reason = match e.kind() {
            ErrorKind::InvalidSignature => "bad signature".to_owned(),
            ErrorKind::InvalidAlgorithm => "algorithm is not HS256".to_owned(),
            ErrorKind::Json(_) => "claims are not LeanX's callback".to_owned(),
            _ => "malformed token".to_owned(),
        };
        CallbackError::Untrusted(reason)
    })?;
    Ok(data.claims.output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;
    use sha2::{Sha256, Sha384};

    const KEY: &str = "merchant-hash-key";

    fn claims() -> serde_json::Value {
        json!({"output": {
            "invoice_no": "PAYOUT-A9D5:174307-LEANX",
            "invoice_status": "SUCCESS",
            "invoice_status_id": 2,
            "amount": "13.00",
            "payout_service_id": 23,
            "client_callback_url": "https://example.test/callbacks/leanx",
            "error_description": [],
            "client_data": {"virtual_pool_reference": "VA-1", "external_invoice_ref": "INV-1", "recipient_reference": "R"},
            "bank_response": {"Success": true, "Result": {"PaymentStatus": "ACSP", "BankReferenceNo": "B1", "DisplayName": "JOHN"}},
            "payout_payment": {"item": {"balance": 100.5}},
            "client_transaction_details": null
        }})
    }

    fn signed(claims: &serde_json::Value, key: &str) -> String {
        crate::leanx::hs256::install();
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    }

    fn body(token: &str) -> Vec<u8> {
        json!({ "data": token, "response_code": 2100 })
            .to_string()
            .into_bytes()
    }

    fn verify(token: &str) -> Result<CallbackOutput, CallbackError> {
        verify_callback(&body(token), &Secret::new(KEY))
    }

    /// A token with any header, signed with HMAC-SHA256 or SHA384 over `header.payload`.
    fn handmade(header: &str, payload: &str, sig: Option<&str>) -> String {
        let h = URL_SAFE_NO_PAD.encode(header);
        let p = URL_SAFE_NO_PAD.encode(payload);
        let signing_input = format!("{h}.{p}");
        let signature = match sig {
            Some("HS256") => {
                let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
                mac.update(signing_input.as_bytes());
                URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
            }
            Some("HS384") => {
                let mut mac = Hmac::<Sha384>::new_from_slice(KEY.as_bytes()).unwrap();
                mac.update(signing_input.as_bytes());
                URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
            }
            _ => String::new(),
        };
        format!("{signing_input}.{signature}")
    }

    fn untrusted(result: Result<CallbackOutput, CallbackError>) -> bool {
        matches!(result, Err(CallbackError::Untrusted(_)))
    }

    #[test]
    fn accepts_a_leanx_token_without_exp_or_iat() {
        let output = verify(&signed(&claims(), KEY)).unwrap();
        assert_eq!(output.invoice_no, "PAYOUT-A9D5:174307-LEANX");
        assert!(output.is_success());
        assert_eq!(output.external_invoice_ref(), Some("INV-1"));
        assert_eq!(output.amount().unwrap().to_client_string(), "13.00");
        let bank = output.bank_response.unwrap().result.unwrap();
        assert_eq!(bank.payment_status.as_deref(), Some("ACSP"));
    }

    #[test]
    fn accepts_a_handmade_hs256_token() {
        let token = handmade(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &claims().to_string(),
            Some("HS256"),
        );
        assert!(verify(&token).is_ok());
    }

    #[test]
    fn rejects_the_wrong_key() {
        assert!(untrusted(verify(&signed(&claims(), "someone-else"))));
    }

    #[test]
    fn rejects_alg_none() {
        let token = handmade(r#"{"alg":"none","typ":"JWT"}"#, &claims().to_string(), None);
        assert!(untrusted(verify(&token)));
        let token = handmade(r#"{"alg":"NONE"}"#, &claims().to_string(), None);
        assert!(untrusted(verify(&token)));
    }

    #[test]
    fn rejects_other_algorithms_even_with_the_right_key() {
        let token = handmade(
            r#"{"alg":"HS384","typ":"JWT"}"#,
            &claims().to_string(),
            Some("HS384"),
        );
        assert!(untrusted(verify(&token)));
        let token = handmade(
            r#"{"alg":"RS256","typ":"JWT"}"#,
            &claims().to_string(),
            Some("HS256"),
        );
        assert!(untrusted(verify(&token)));
    }

    #[test]
    fn rejects_a_tampered_payload() {
        let token = signed(&claims(), KEY);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut forged = claims();
        forged["output"]["client_data"]["external_invoice_ref"] = json!("INV-2");
        parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
        assert!(untrusted(verify(&parts.join("."))));
    }

    #[test]
    fn rejects_a_truncated_token() {
        let token = signed(&claims(), KEY);
        assert!(untrusted(verify(&token[..token.len() - 5])));
        let two_parts = token.rsplit_once('.').unwrap().0;
        assert!(untrusted(verify(two_parts)));
        assert!(untrusted(verify("abc")));
    }

    #[test]
    fn rejects_claims_that_are_not_json() {
        let token = handmade(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            "not json at all",
            Some("HS256"),
        );
        assert!(untrusted(verify(&token)));
    }

    #[test]
    fn rejects_signed_claims_without_output() {
        assert!(untrusted(verify(&signed(&json!({"invoice_no": "X"}), KEY))));
    }

    #[test]
    fn body_must_be_json_with_data() {
        let key = Secret::new(KEY);
        assert_eq!(
            verify_callback(b"data=abc", &key).unwrap_err(),
            CallbackError::NotJson
        );
        assert_eq!(
            verify_callback(b"{}", &key).unwrap_err(),
            CallbackError::NoData
        );
        assert_eq!(
            verify_callback(br#"{"data":""}"#, &key).unwrap_err(),
            CallbackError::NoData
        );
        assert_eq!(
            verify_callback(br#"{"data":42}"#, &key).unwrap_err(),
            CallbackError::NoData
        );
        let huge = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            verify_callback(&huge, &key).unwrap_err(),
            CallbackError::TooLarge
        );
    }
}
