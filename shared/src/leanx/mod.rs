//! The LeanX payout API: HTTP client, request signing, and callback verification.

pub mod callback;
pub mod client;
pub mod provider;
pub mod secret;
pub mod signing;
pub mod vocabulary;

pub use callback::{CallbackError, CallbackOutput, verify_callback};
pub use client::{
    AcceptedPayout, Balance, BankVerification, CreatePayoutInvoice, LeanxClient, LeanxError,
    LeanxSettings, PayoutService, PayoutTransaction,
};
pub use secret::{LeanxCredentials, Secret};
