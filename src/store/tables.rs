//! Every table, named key -> value, with how keys and values are encoded.

use redb::{TableDefinition, WriteTransaction};

/// "schema_version" -> u64, and other single values.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// setting name -> value as text (see `config::SETTINGS` for the names).
pub const SETTINGS: TableDefinition<&str, &str> = TableDefinition::new("settings");

/// account localpart (prepared) -> `accounts::Account` record.
pub const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");

/// (account localpart, contact bare JID) -> `roster::RosterEntry` record.
pub const ROSTER: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("roster");

/// account localpart -> roster version (RFC 6121 §2.6), bumped on every change.
pub const ROSTER_VERSION: TableDefinition<&str, u64> = TableDefinition::new("roster_version");

/// (account localpart, sequence) -> stored message stanza, serialised XML
/// with its XEP-0203 delay stamp already added.
pub const OFFLINE: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("offline");

/// account localpart -> bytes of its stored offline messages (for
/// `max_offline_bytes`); counted from `OFFLINE` when missing (older files).
pub const OFFLINE_BYTES: TableDefinition<&str, u64> = TableDefinition::new("offline_bytes");

/// (group name, member localpart) -> (): the admin's department groups.
pub const GROUPS: TableDefinition<(&str, &str), ()> = TableDefinition::new("groups");

/// (account localpart, "namespace element") -> stored XML (XEP-0049).
pub const PRIVATE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("private");

/// account localpart -> when its last resource went offline (unix seconds)
/// and that presence's status text (XEP-0012).
pub const LAST: TableDefinition<&str, &[u8]> = TableDefinition::new("last");

/// account localpart -> its vCard (XEP-0054) as XML text.
pub const VCARD: TableDefinition<&str, &[u8]> = TableDefinition::new("vcard");

/// (account localpart, node) -> `pep::PepNode` record (XEP-0163).
pub const PEP_NODES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("pep_nodes");

/// (account localpart, node, item id) -> (sequence, payload XML).
pub const PEP_ITEMS: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("pep_items");

/// account localpart -> bytes its PEP items take (for `max_pep_bytes`).
pub const PEP_BYTES: TableDefinition<&str, u64> = TableDefinition::new("pep_bytes");

/// (account localpart, blocked JID as given) -> () (XEP-0191).
pub const BLOCKLIST: TableDefinition<(&str, &str), ()> = TableDefinition::new("blocklist");

/// (account localpart, microseconds) -> (archive id, with, message XML) (XEP-0313).
pub const MAM: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("mam");

/// (account localpart, archive id) -> its key in `MAM`.
pub const MAM_ID: TableDefinition<(&str, &str), u64> = TableDefinition::new("mam_id");

/// account localpart -> messages in its archive.
pub const MAM_COUNT: TableDefinition<&str, u64> = TableDefinition::new("mam_count");

/// account localpart -> bytes of its archived records (for `max_archive_bytes`);
/// counted from `MAM` when missing (older files).
pub const MAM_BYTES: TableDefinition<&str, u64> = TableDefinition::new("mam_bytes");

/// account localpart -> `mam::MamPrefs` record.
pub const MAM_PREFS: TableDefinition<&str, &[u8]> = TableDefinition::new("mam_prefs");

/// room name -> `muc::StoredRoom` record (XEP-0045 persistent rooms).
pub const MUC_ROOMS: TableDefinition<&str, &[u8]> = TableDefinition::new("muc_rooms");

/// upload slot id -> `upload::Upload` record (XEP-0363).
pub const UPLOADS: TableDefinition<&str, &[u8]> = TableDefinition::new("uploads");

/// account localpart -> bytes of its uploads.
pub const UPLOAD_USAGE: TableDefinition<&str, u64> = TableDefinition::new("upload_usage");

/// invitation token -> `invites::Invite` record (XEP-0401).
pub const INVITES: TableDefinition<&str, &[u8]> = TableDefinition::new("invites");

/// component domain -> shared secret (XEP-0114).
pub const COMPONENTS: TableDefinition<&str, &str> = TableDefinition::new("components");

/// (account, app server JID, node) -> publish options as XML, "" for none (XEP-0357).
pub const PUSH: TableDefinition<(&str, &str, &str), &str> = TableDefinition::new("push");

/// (owner, node, subscriber localpart, resource or "" for the bare JID):
/// explicit PEP subscriptions (XEP-0060 §6.1).
pub const PEP_SUBS: TableDefinition<(&str, &str, &str, &str), ()> = TableDefinition::new("pep_subs");

/// subscriber localpart -> how many PEP subscriptions it holds.
pub const PEP_SUB_COUNT: TableDefinition<&str, u64> = TableDefinition::new("pep_sub_count");

/// (level, index in its ring) -> slot (u64 LE) and one f32 LE per series:
/// the statistics time series (`stats::rings`), a fixed number of rows.
pub const STATS_POINTS: TableDefinition<(u8, u16), &[u8]> = TableDefinition::new("stats_points");

/// account localpart -> the day (since 1970) it last logged in, for the
/// count of active people.
pub const ACTIVE_DAY: TableDefinition<&str, u32> = TableDefinition::new("active_day");

/// Accounts that have SCRAM-SHA-1 keys only (imported from a server that
/// kept no others, such as Prosody 0.12): while there is one, SCRAM-SHA-256
/// is not offered. Kept with every write of an account's keys.
pub const SHA1_ONLY: TableDefinition<&str, ()> = TableDefinition::new("scram_sha1_only");
/// field name -> value as text: the scheduled backups' state
/// (`store::BackupState`: last success, last failure, since when).
pub const BACKUP_STATE: TableDefinition<&str, &str> = TableDefinition::new("backup_state");

/// Opens every table once so read transactions never meet a missing one.
pub fn create_all(wtx: &WriteTransaction) -> Result<(), redb::TableError> {
	wtx.open_table(META)?;
	wtx.open_table(SETTINGS)?;
	wtx.open_table(BACKUP_STATE)?;
	wtx.open_table(ACCOUNTS)?;
	wtx.open_table(ROSTER)?;
	wtx.open_table(ROSTER_VERSION)?;
	wtx.open_table(OFFLINE)?;
	wtx.open_table(OFFLINE_BYTES)?;
	wtx.open_table(GROUPS)?;
	wtx.open_table(PRIVATE)?;
	wtx.open_table(LAST)?;
	wtx.open_table(VCARD)?;
	wtx.open_table(PEP_NODES)?;
	wtx.open_table(PEP_ITEMS)?;
	wtx.open_table(PEP_BYTES)?;
	wtx.open_table(PEP_SUBS)?;
	wtx.open_table(PEP_SUB_COUNT)?;
	wtx.open_table(BLOCKLIST)?;
	wtx.open_table(MAM)?;
	wtx.open_table(MAM_ID)?;
	wtx.open_table(MAM_COUNT)?;
	wtx.open_table(MAM_BYTES)?;
	wtx.open_table(MAM_PREFS)?;
	wtx.open_table(MUC_ROOMS)?;
	wtx.open_table(UPLOADS)?;
	wtx.open_table(UPLOAD_USAGE)?;
	wtx.open_table(INVITES)?;
	wtx.open_table(COMPONENTS)?;
	wtx.open_table(PUSH)?;
	wtx.open_table(RESETS)?;
	wtx.open_table(NOTICES)?;
	wtx.open_table(STATS_POINTS)?;
	wtx.open_table(ACTIVE_DAY)?;
	wtx.open_table(SHA1_ONLY)?;
	Ok(())
}

/// One-time password reset token -> (account localpart, expiry): links an
/// admin hands over (`admin::Engine::reset_token_create`).
pub const RESETS: TableDefinition<&str, &[u8]> = TableDefinition::new("resets");

/// Texts the admin sets for everyone: "motd" (the message of the day).
pub const NOTICES: TableDefinition<&str, &str> = TableDefinition::new("notices");
