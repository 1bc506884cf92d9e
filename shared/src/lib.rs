//! leanx-payouts: the library every Lambda function of the service stands on.
//!
//! - [`domain`]: amounts, requests, payouts and the forward-only state machine (no I/O).
//! - [`leanx`]: the LeanX payout API client and callback verification (adapter).
//! - [`store`]: payout state in DynamoDB behind a narrow trait (adapter).

pub mod api;
pub mod config;
pub mod crashpoint;
pub mod domain;
pub mod leanx;
pub mod metrics;
pub mod runtime;
pub mod service;
pub mod store;
