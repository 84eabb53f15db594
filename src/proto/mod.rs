//! Sans-IO protocol cores: input (parsed XML, client data) -> state + actions.
//! No sockets, no timers, no tasks here.

pub mod bosh;
pub mod component;
pub mod dialback;
pub mod sasl;
pub mod sasl2;
pub mod socks5;
pub mod stream;
pub mod subscription;
