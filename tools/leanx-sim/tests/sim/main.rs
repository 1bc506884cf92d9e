//! The simulator over real HTTP, one sim per test.

mod auth;
mod cli;
mod control;
mod create;
mod endpoints;
mod faults;
mod outcomes;
mod support;
