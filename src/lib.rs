//! Xerra: a lean XMPP server for small offices.
//!
//! The dependency rule, readable from the tree: `xmpp` uses nothing of ours;
//! `proto` uses `xmpp`; `store` is the only code that names redb; `router`
//! and `features` decide what happens to stanzas; `net` is the only code that
//! touches sockets and TLS; `server` wires them; `cli` is the command line.

pub mod admin;
pub mod autobackup;
pub mod backup;
pub mod cli;
pub mod code_pages;
pub mod config;
pub mod console;
pub mod control;
pub mod features;
pub mod groups;
pub mod http;
pub mod mdns;
pub mod mem;
pub mod migrate;
pub mod net;
pub mod notify;
pub mod proto;
pub mod remote;
pub mod router;
pub mod selftest;
pub mod server;
pub mod sessions;
pub mod setup;
pub mod stats;
pub mod store;
pub mod xmpp;
