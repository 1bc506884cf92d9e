//! leanx-payouts: the library every Lambda function of the service stands on.
//!
//! - [`domain`]: amounts, requests, payouts and the forward-only state machine (no I/O).
//! - [`leanx`]: the LeanX payout API client and callback verification (adapter).
//! - [`store`]: payout state in DynamoDB behind a narrow trait (adapter).
//! - [`usecases`]: create, look up, callback, reconcile: each returns what happened.
//! - [`api`]: the payout resource, and every outcome and error mapped to HTTP.
//! - [`config`], [`runtime`]: configuration and the Lambda glue; [`metrics`]: EMF lines.
//! - `testing` (feature `testing`): an in-memory store and a scripted LeanX, for fast tests.

pub mod api;
pub mod config;
pub mod crashpoint;
pub mod domain;
pub mod events;
pub mod leanx;
pub mod metrics;
pub mod pipeline;
pub mod runtime;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod usecases;
