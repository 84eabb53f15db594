//! The backup's own metadata: `XERRA-BACKUP` (first entry) and `SHA256SUMS`
//! (last). Plain text, parsed without I/O.

/// Version of the file layout; a reader refuses a larger one.
pub const FORMAT_VERSION: u32 = 1;

/// Rows of the main tables in the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
	pub accounts: u64,
	pub rooms: u64,
	pub groups: u64,
	pub archived: u64,
	pub offline: u64,
	pub uploads: u64,
}

/// The first entry: what this backup is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
	pub format: u32,
	/// The database schema version (`store::SCHEMA_VERSION` when made).
	pub schema: u64,
	/// Xerra's version that made it.
	pub version: String,
	pub domain: String,
	/// Unix seconds.
	pub created: u64,
	pub counts: Counts,
}

/// Everything a backup says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
	pub header: Header,
	/// Every entry but the two metadata ones: (name, bytes, SHA-256).
	pub entries: Vec<(String, u64, [u8; 32])>,
}
