//! The simulator over real HTTP, one sim per test.

mod auth;
mod balance;
mod bank_verification;
mod cli;
mod control;
mod create;
mod endpoints;
mod faults;
mod lookup_scripts;
mod outcomes;
mod payout_services;
mod support;
mod transaction_list;
