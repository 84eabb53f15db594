//! Every table, named key -> value, with how keys and values are encoded.
//! The types are how the store reads them: on disk every table is bytes to
//! bytes (`typed`), so redb's B-tree code is compiled once (schema 2).

use redb::WriteTransaction;

use super::typed::{Def, OpenWrite as _};

/// "schema_version" -> u64, and other single values.
pub const META: Def<&str, u64> = Def::new("meta");

/// setting name -> value as text (see `config::settings()` for the names).
pub const SETTINGS: Def<&str, &str> = Def::new("settings");

/// account localpart (prepared) -> `accounts::Account` record.
pub const ACCOUNTS: Def<&str, &[u8]> = Def::new("accounts");

/// (account localpart, contact bare JID) -> `roster::RosterEntry` record.
pub const ROSTER: Def<(&str, &str), &[u8]> = Def::new("roster");

/// account localpart -> roster version (RFC 6121 §2.6), bumped on every change.
pub const ROSTER_VERSION: Def<&str, u64> = Def::new("roster_version");

/// (account localpart, sequence) -> stored message stanza, serialised XML
/// with its XEP-0203 delay stamp already added.
pub const OFFLINE: Def<(&str, u64), &[u8]> = Def::new("offline");

/// account localpart -> bytes of its stored offline messages (for
/// `max_offline_bytes`); counted from `OFFLINE` when missing (older files).
pub const OFFLINE_BYTES: Def<&str, u64> = Def::new("offline_bytes");

/// (group name, member localpart) -> (): the admin's department groups.
pub const GROUPS: Def<(&str, &str), ()> = Def::new("groups");

/// (account localpart, "namespace element") -> stored XML (XEP-0049).
pub const PRIVATE: Def<(&str, &str), &[u8]> = Def::new("private");

/// account localpart -> when its last resource went offline (unix seconds)
/// and that presence's status text (XEP-0012).
pub const LAST: Def<&str, &[u8]> = Def::new("last");

/// account localpart -> its vCard (XEP-0054) as XML text.
pub const VCARD: Def<&str, &[u8]> = Def::new("vcard");

/// (account localpart, node) -> `pep::PepNode` record (XEP-0163).
pub const PEP_NODES: Def<(&str, &str), &[u8]> = Def::new("pep_nodes");

/// (account localpart, node, item id) -> (sequence, payload XML).
pub const PEP_ITEMS: Def<(&str, &str, &str), &[u8]> = Def::new("pep_items");

/// account localpart -> bytes its PEP items take (for `max_pep_bytes`).
pub const PEP_BYTES: Def<&str, u64> = Def::new("pep_bytes");

/// (account localpart, blocked JID as given) -> () (XEP-0191).
pub const BLOCKLIST: Def<(&str, &str), ()> = Def::new("blocklist");

/// (account localpart, microseconds) -> (archive id, with, message XML) (XEP-0313).
pub const MAM: Def<(&str, u64), &[u8]> = Def::new("mam");

/// (account localpart, archive id) -> its key in `MAM`.
pub const MAM_ID: Def<(&str, &str), u64> = Def::new("mam_id");

/// account localpart -> messages in its archive.
pub const MAM_COUNT: Def<&str, u64> = Def::new("mam_count");

/// account localpart -> bytes of its archived records (for `max_archive_bytes`);
/// counted from `MAM` when missing (older files).
pub const MAM_BYTES: Def<&str, u64> = Def::new("mam_bytes");

/// account localpart -> `mam::MamPrefs` record.
pub const MAM_PREFS: Def<&str, &[u8]> = Def::new("mam_prefs");

/// room name -> `muc::StoredRoom` record (XEP-0045 persistent rooms).
pub const MUC_ROOMS: Def<&str, &[u8]> = Def::new("muc_rooms");

/// upload slot id -> `upload::Upload` record (XEP-0363).
pub const UPLOADS: Def<&str, &[u8]> = Def::new("uploads");

/// account localpart -> bytes of its uploads.
pub const UPLOAD_USAGE: Def<&str, u64> = Def::new("upload_usage");

/// invitation token -> `invites::Invite` record (XEP-0401).
pub const INVITES: Def<&str, &[u8]> = Def::new("invites");

/// component domain -> shared secret (XEP-0114).
pub const COMPONENTS: Def<&str, &str> = Def::new("components");

/// (account, app server JID, node) -> publish options as XML, "" for none (XEP-0357).
pub const PUSH: Def<(&str, &str, &str), &str> = Def::new("push");

/// (owner, node, subscriber localpart, resource or "" for the bare JID):
/// explicit PEP subscriptions (XEP-0060 §6.1).
pub const PEP_SUBS: Def<(&str, &str, &str, &str), ()> = Def::new("pep_subs");

/// subscriber localpart -> how many PEP subscriptions it holds.
pub const PEP_SUB_COUNT: Def<&str, u64> = Def::new("pep_sub_count");

/// (level, index in its ring) -> slot (u64 LE) and one f32 LE per series:
/// the statistics time series (`stats::rings`), a fixed number of rows.
pub const STATS_POINTS: Def<(u8, u16), &[u8]> = Def::new("stats_points");

/// account localpart -> the day (since 1970) it last logged in, for the
/// count of active people.
pub const ACTIVE_DAY: Def<&str, u32> = Def::new("active_day");

/// Accounts that have SCRAM-SHA-1 keys only (imported from a server that
/// kept no others, such as Prosody 0.12): while there is one, SCRAM-SHA-256
/// is not offered. Kept with every write of an account's keys.
pub const SHA1_ONLY: Def<&str, ()> = Def::new("scram_sha1_only");
/// (account localpart, SASL2 user-agent id) -> `devices::Device` record:
/// the account's devices and their FAST tokens (XEP-0388, XEP-0484).
pub const DEVICES: Def<(&str, &str), &[u8]> = Def::new("devices");

/// field name -> value as text: the scheduled backups' state
/// (`store::BackupState`: last success, last failure, since when).
pub const BACKUP_STATE: Def<&str, &str> = Def::new("backup_state");

/// Opens every table once so read transactions never meet a missing one.
pub fn create_all(wtx: &WriteTransaction) -> Result<(), redb::TableError> {
	wtx.open(META)?;
	wtx.open(SETTINGS)?;
	wtx.open(BACKUP_STATE)?;
	wtx.open(ACCOUNTS)?;
	wtx.open(DEVICES)?;
	wtx.open(ROSTER)?;
	wtx.open(ROSTER_VERSION)?;
	wtx.open(OFFLINE)?;
	wtx.open(OFFLINE_BYTES)?;
	wtx.open(GROUPS)?;
	wtx.open(PRIVATE)?;
	wtx.open(LAST)?;
	wtx.open(VCARD)?;
	wtx.open(PEP_NODES)?;
	wtx.open(PEP_ITEMS)?;
	wtx.open(PEP_BYTES)?;
	wtx.open(PEP_SUBS)?;
	wtx.open(PEP_SUB_COUNT)?;
	wtx.open(BLOCKLIST)?;
	wtx.open(MAM)?;
	wtx.open(MAM_ID)?;
	wtx.open(MAM_COUNT)?;
	wtx.open(MAM_BYTES)?;
	wtx.open(MAM_PREFS)?;
	wtx.open(MUC_ROOMS)?;
	wtx.open(UPLOADS)?;
	wtx.open(UPLOAD_USAGE)?;
	wtx.open(INVITES)?;
	wtx.open(COMPONENTS)?;
	wtx.open(PUSH)?;
	wtx.open(RESETS)?;
	wtx.open(NOTICES)?;
	wtx.open(STATS_POINTS)?;
	wtx.open(ACTIVE_DAY)?;
	wtx.open(SHA1_ONLY)?;
	Ok(())
}

/// One-time password reset token -> (account localpart, expiry): links an
/// admin hands over (`admin::Engine::reset_token_create`).
pub const RESETS: Def<&str, &[u8]> = Def::new("resets");

/// Texts the admin sets for everyone: "motd" (the message of the day).
pub const NOTICES: Def<&str, &str> = Def::new("notices");
