//! The XMPP vocabulary: pure types, no I/O, no state.

pub mod element;
pub mod error;
pub mod form;
pub mod jid;
pub mod ns;
pub mod packed;
pub mod reader;
pub mod stanza;
