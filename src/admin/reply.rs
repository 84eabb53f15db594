//! What admin commands answer: data for a face to show its own way (the
//! command line as text in `text`, the web console as HTML, XEP-0133 as forms).

use crate::features::muc::RoomInfo;
use crate::store::DiskStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
	/// Done; a sentence saying what changed.
	Done(String),
	/// An account was made.
	Created {
		jid: String,
		admin: bool,
	},
	Users(Vec<UserRow>),
	Groups(Vec<GroupRow>),
	Rooms {
		service: String,
		live: bool,
		rooms: Vec<RoomInfo>,
	},
	Settings(Vec<SettingRow>),
	Status(Status),
	Invite(InviteMade),
	Invites(Vec<InviteRow>),
	Components(Vec<ComponentRow>),
	ComponentAdded {
		domain: String,
		secret: String,
		port: Option<u16>,
	},
	/// A password reset link was made.
	Reset(ResetMade),
	/// Text made elsewhere (the setup summary, the first-boot banner).
	Text(String),
}

/// One account in the people list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserRow {
	/// The localpart.
	pub name: String,
	/// From the vCard: FN, else NICKNAME.
	pub display_name: Option<String>,
	pub admin: bool,
	pub locked: bool,
	/// Sessions online now (0 when the server is stopped).
	pub online: usize,
	/// Unix seconds of the last logout (XEP-0012), if any.
	pub last_seen: Option<u64>,
	/// Bytes of archive, offline messages and uploads.
	pub storage_bytes: u64,
}

/// A one-time password reset link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetMade {
	pub jid: String,
	pub token: String,
	/// `https://DOMAIN[:upload_port]/reset/TOKEN`.
	pub url: String,
	/// Unix seconds.
	pub expires: u64,
}

/// A department (shared roster group) and its members' localparts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
	pub name: String,
	pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingRow {
	pub name: &'static str,
	/// The stored value, or the default.
	pub value: String,
	pub default: &'static str,
	/// One line saying what it does.
	pub doc: &'static str,
	/// Whether a value is stored (else the default applies).
	pub stored: bool,
	/// A change takes effect only at the next start.
	pub restart: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
	/// `None` before setup.
	pub domain: Option<String>,
	pub accounts: u64,
	/// Accounts with SCRAM-SHA-1 keys only (imported): SCRAM-SHA-256 is not
	/// offered while there is one.
	pub sha1_only: u64,
	pub data_dir: String,
	pub database_bytes: u64,
	pub disk: DiskStatus,
	pub disk_warning_bytes: u64,
	/// Scheduled backups: the last one, failures, overdue.
	pub backups: Box<crate::autobackup::View>,
	/// While the server runs.
	pub running: Option<Running>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
	pub pid: u32,
	pub uptime_secs: u64,
	pub connections: usize,
	pub sessions: usize,
	pub users_online: usize,
}

/// A new invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteMade {
	pub token: String,
	/// The `xmpp:` URI (XEP-0401) to hand over.
	pub uri: String,
	/// Unix seconds.
	pub expires: u64,
	pub days: u64,
	/// Accounts it may make.
	pub uses: u32,
	/// Registration is off, so the link makes no account until it is on.
	pub registration_off: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRow {
	pub domain: String,
	pub connected: bool,
}

/// An open invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
	pub token: String,
	pub uri: String,
	/// Accounts it may still make.
	pub uses_left: u32,
	/// Unix seconds.
	pub expires: u64,
	/// The department newcomers join.
	pub group: Option<String>,
	/// Newcomers become admins.
	pub admin: bool,
	/// A contact invitation from this user (made in their app, or `--contact`).
	pub contact: Option<String>,
	/// It can make accounts (an admin's); else it only makes contacts.
	pub registers: bool,
}
