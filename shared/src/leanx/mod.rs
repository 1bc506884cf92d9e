//! The LeanX payout API: HTTP client, request signing, and callback verification.

pub mod callback;
pub mod client;
pub mod hs256;
pub mod merchant_endpoints;
pub mod secret;
pub mod signing;
pub mod vocabulary;

pub use callback::{CallbackError, CallbackOutput, verify_callback};
pub use client::{
    AcceptedPayout, CreatePayoutInvoice, LeanxClient, LeanxError, LeanxSettings, PayoutTransaction,
};
pub use merchant_endpoints::{Balance, BankVerification, PayoutService};
pub use secret::{LeanxCredentials, Secret};
