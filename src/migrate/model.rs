//! What one account carries from server to server, as plain data (no XML
//! parsing needed to build it): the XEP-0227 reader, the Prosody reader and
//! the exporter all meet here. See /work/wt/notes/MIGRATE.md.

use crate::proto::sasl::scram::ScramCredentials;
use crate::proto::subscription::Sub;
use crate::store::{NodeConfig, StoredRoom};

// Every XML text field may carry its own xmlns; without one it is in the
// namespace its field names (what the store keeps).

/// One account and everything it owns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountData {
	/// The localpart (already nodeprep'd / lowercased as it will be stored).
	pub name: String,
	/// SCRAM-SHA-1 keys, if the source had them.
	pub sha1: Option<ScramCredentials>,
	/// SCRAM-SHA-256 keys, if the source had them.
	pub sha256: Option<ScramCredentials>,
	/// A plaintext password (ejabberd's export when it stores plain ones);
	/// both key sets are derived from it on import. Never exported.
	pub password: Option<String>,
	/// Unix seconds; 0 when unknown (import then uses the current time).
	pub created: u64,
	pub admin: bool,
	pub locked: bool,
	pub roster: Vec<RosterItem>,
	/// The vCard element as XML text (no xmlns: vcard-temp).
	pub vcard: Option<String>,
	/// Private XML storage (XEP-0049): one element per (namespace, name),
	/// each with its xmlns.
	pub private: Vec<PrivateXml>,
	/// Offline messages, oldest first, each a `<message/>` as XML text (no xmlns: jabber:client).
	pub offline: Vec<String>,
	pub pep: Vec<PepNodeData>,
	/// The message archive, oldest first.
	pub archive: Vec<ArchivedMessage>,
}

/// One roster row: a contact in the roster, or only a pending incoming
/// subscription request from someone not (yet) in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RosterItem {
	/// The contact's bare JID.
	pub jid: String,
	/// False: not a roster item, only a pending request (`pending_in`).
	pub in_roster: bool,
	pub name: Option<String>,
	pub groups: Vec<String>,
	pub subscription: Sub,
	/// ask="subscribe": the user asked for the contact's presence.
	pub ask: bool,
	/// The contact asked for the user's presence and awaits an answer;
	/// `Some(status)` carries the request's `<status/>` text if it had one.
	pub pending_in: Option<Option<String>>,
	/// The user pre-approved the contact's request (RFC 6121 §3.4).
	pub approved: bool,
}

/// One private XML fragment: the stored element (with its xmlns) as XML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateXml {
	pub ns: String,
	pub name: String,
	pub xml: String,
}

/// A PEP node with its configuration and items (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PepNodeData {
	pub node: String,
	pub config: NodeConfig,
	pub items: Vec<PepItemData>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PepItemData {
	pub id: String,
	/// The payload element as XML text (no xmlns: http://jabber.org/protocol/pubsub).
	pub xml: String,
}

/// One archived message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedMessage {
	/// The archive id (XEP-0359 stanza-id by the account's server).
	pub id: String,
	/// Microseconds since the Unix epoch.
	pub micros: u64,
	/// The other party (full JID when known).
	pub with: String,
	/// The `<message/>` as XML text (no xmlns: jabber:client), with from and to.
	pub xml: String,
}

/// Data of the host rather than of one account (a Xerra extension to XEP-0227).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostData {
	/// Persistent MUC rooms.
	pub rooms: Vec<RoomData>,
	pub departments: Vec<Department>,
}

/// One persistent MUC room with its archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomData {
	/// The room's localpart on the conference service.
	pub name: String,
	/// As stored; an empty `salt` makes the room a new one.
	pub room: StoredRoom,
	/// The room's message archive (XEP-0313), oldest first; `with` is the occupant JID.
	pub archive: Vec<ArchivedMessage>,
}

/// A department group with its members' localparts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
	pub name: String,
	pub members: Vec<String>,
}

/// Why an account (or a room, a department) was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
	/// The account's name (or "room NAME", "department NAME"); empty if the
	/// input was so broken that no name was read.
	pub name: String,
	pub why: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
	/// Accounts imported, each whole (one write transaction each).
	pub imported: Vec<String>,
	pub rooms: Vec<String>,
	pub departments: Vec<String>,
	pub skipped: Vec<Skipped>,
	/// Things imported with a loss worth telling (e.g. "alice: no SCRAM-SHA-256 keys").
	pub notes: Vec<String>,
}
