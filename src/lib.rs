//! Xerra: a lean XMPP server for small offices.
//!
//! The dependency rule, readable from the tree: `xmpp` uses nothing of ours;
//! `proto` uses `xmpp`; `store` is the only code that names redb; `router`
//! and `features` decide what happens to stanzas; `net` is the only code that
//! touches sockets and TLS; `server` wires them; `cli` is the command line.

pub mod admin;
pub mod cli;
pub mod config;
pub mod control;
pub mod features;
pub mod net;
pub mod proto;
pub mod router;
pub mod server;
pub mod sessions;
pub mod store;
pub mod xmpp;
