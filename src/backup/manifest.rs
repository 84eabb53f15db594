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
	/// Bytes of every entry: what a restore needs free (0: not said).
	pub unpacked: u64,
}

/// Everything a backup says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
	pub header: Header,
	/// Every entry but the two metadata ones: (name, bytes, SHA-256).
	pub entries: Vec<(String, u64, [u8; 32])>,
}

/// The first entry's name.
pub const HEADER_NAME: &str = "XERRA-BACKUP";
/// The last entry's name.
pub const SUMS_NAME: &str = "SHA256SUMS";

/// Why metadata could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bad {
	/// A field is missing or malformed.
	Malformed(String),
	/// Written by a newer Xerra.
	Newer { format: u32, schema: u64, version: String },
}

impl Header {
	pub fn encode(&self) -> String {
		let c = &self.counts;
		format!(
			"xerra-backup-format: {}\nschema: {}\nxerra: {}\ndomain: {}\ncreated: {}\naccounts: {}\nrooms: {}\ngroups: {}\narchived: {}\noffline: {}\nuploads: {}\nunpacked: {}\n",
			self.format,
			self.schema,
			self.version,
			self.domain,
			self.created,
			c.accounts,
			c.rooms,
			c.groups,
			c.archived,
			c.offline,
			c.uploads,
			self.unpacked
		)
	}

	/// Reads a header, refusing one newer than `max_schema` (or this format).
	/// Unknown fields are ignored: a later version may add some.
	pub fn decode(text: &str, max_schema: u64) -> Result<Header, Bad> {
		let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(": ")).map(str::trim);
		let num = |name: &str| -> Result<u64, Bad> {
			field(name).and_then(|v| v.parse().ok()).ok_or_else(|| Bad::Malformed(format!("{HEADER_NAME}: no {name}")))
		};
		let format = num("xerra-backup-format")?;
		let schema = num("schema")?;
		let version = field("xerra").unwrap_or("?").to_owned();
		let format = u32::try_from(format).unwrap_or(u32::MAX);
		if format > FORMAT_VERSION || schema > max_schema {
			return Err(Bad::Newer { format, schema, version });
		}
		// Counts are informative: a missing one reads as 0.
		let count = |name: &str| num(name).unwrap_or(0);
		Ok(Header {
			format,
			schema,
			version,
			domain: field("domain").unwrap_or("").to_owned(),
			created: num("created")?,
			counts: Counts {
				accounts: count("accounts"),
				rooms: count("rooms"),
				groups: count("groups"),
				archived: count("archived"),
				offline: count("offline"),
				uploads: count("uploads"),
			},
			unpacked: count("unpacked"),
		})
	}
}

/// `sha256sum` lines: the hash in hex, two spaces, the name.
pub fn encode_sums(entries: &[(String, u64, [u8; 32])]) -> String {
	let mut out = String::new();
	for (name, _, hash) in entries {
		out.push_str(&hex(hash));
		out.push_str("  ");
		out.push_str(name);
		out.push('\n');
	}
	out
}

pub fn decode_sums(text: &str) -> Result<Vec<(String, [u8; 32])>, Bad> {
	let bad = |l: &str| Bad::Malformed(format!("{SUMS_NAME}: bad line {:?}", l.chars().take(80).collect::<String>()));
	text.lines()
		.map(|l| {
			let (h, name) = l.split_once("  ").ok_or_else(|| bad(l))?;
			Ok((name.to_owned(), unhex(h).ok_or_else(|| bad(l))?))
		})
		.collect()
}

pub fn hex(b: &[u8]) -> String {
	b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
	let mut out = [0u8; 32];
	if s.len() != 64 || !s.is_ascii() {
		return None;
	}
	for (i, o) in out.iter_mut().enumerate() {
		*o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
	}
	Some(out)
}

/// Whether an entry name may be unpacked: only what a backup writes
/// (`xerra.redb`, `tls/NAME`, `uploads/NAME`), never a path that climbs out.
pub fn allowed_name(name: &str) -> bool {
	let plain = |n: &str| !n.is_empty() && n != "." && n != ".." && !n.contains(['/', '\\', '\0']) && !n.starts_with('.');
	match name.split_once('/') {
		None => name == "xerra.redb",
		Some(("tls" | "uploads", rest)) => plain(rest),
		_ => false,
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn header() -> Header {
		Header {
			format: FORMAT_VERSION,
			schema: 1,
			version: "0.1.0".into(),
			domain: "example.org".into(),
			created: 1_765_000_000,
			counts: Counts { accounts: 3, rooms: 1, groups: 2, archived: 40, offline: 5, uploads: 1 },
			unpacked: 12345,
		}
	}

	#[test]
	fn header_round_trips_and_ignores_unknown_fields() {
		let h = header();
		assert_eq!(Header::decode(&h.encode(), 1).unwrap(), h);
		let more = format!("{}future-field: x\n", h.encode());
		assert_eq!(Header::decode(&more, 1).unwrap(), h);
		assert!(matches!(Header::decode("schema: 1\n", 1), Err(Bad::Malformed(_))));
		assert!(matches!(Header::decode("", 1), Err(Bad::Malformed(_))));
	}

	#[test]
	fn a_newer_format_or_schema_is_refused() {
		let mut h = header();
		h.schema = 2;
		assert_eq!(Header::decode(&h.encode(), 1), Err(Bad::Newer { format: 1, schema: 2, version: "0.1.0".into() }));
		let mut h = header();
		h.format = FORMAT_VERSION + 1;
		assert!(matches!(Header::decode(&h.encode(), 1), Err(Bad::Newer { .. })));
	}

	#[test]
	fn sums_round_trip_in_sha256sum_format() {
		let entries = vec![("xerra.redb".to_owned(), 10, [0xab; 32]), ("uploads/x y".to_owned(), 3, [1; 32])];
		let text = encode_sums(&entries);
		assert!(text.starts_with(&format!("{}  xerra.redb\n", "ab".repeat(32))));
		assert_eq!(decode_sums(&text).unwrap(), vec![("xerra.redb".to_owned(), [0xab; 32]), ("uploads/x y".to_owned(), [1; 32])]);
		assert!(decode_sums("zz  name\n").is_err());
		assert!(decode_sums("nospaces\n").is_err());
	}

	#[test]
	fn only_known_places_are_unpacked() {
		for ok in ["xerra.redb", "tls/ca.key", "uploads/AbC-12"] {
			assert!(allowed_name(ok), "{ok}");
		}
		for bad in ["../x", "tls/../../etc", "uploads/", "uploads/a/b", "/etc/passwd", "tls/.part-1", "control.sock", "other/x"] {
			assert!(!allowed_name(bad), "{bad}");
		}
	}
}
