//! Moving accounts between servers: XEP-0227 (Portable Import/Export)
//! files and the plain model every reader produces (see `model`).

mod import;
pub mod model;

pub use import::{ImportLimits, check_limits, import_accounts, import_host, no_keys};
pub use model::{
	AccountData, ArchivedMessage, Department, HostData, ImportReport, PepItemData, PepNodeData, PrivateXml, RosterItem, Skipped,
};
