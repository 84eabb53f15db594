//! Every setting and limit, named once, with its default, bounds and a line
//! of documentation. Values come from (later wins): the defaults here, the
//! settings stored in the database (`xerra config set`), and `--set name=value`
//! on the command line for one run.

use std::path::PathBuf;
use std::time::Duration;

/// Limits that protect the server from clients; all have names so they can be
/// set, documented and tested.
#[derive(Debug, Clone)]
pub struct Limits {
	pub max_stanza_bytes: usize,
	pub max_depth: usize,
	pub max_attrs: usize,
	pub max_stanza_elements: usize,
	pub max_presence_bytes: usize,
	pub max_memory_bytes: usize,
	pub max_connections: usize,
	pub max_connections_per_ip: usize,
	pub s2s_max_connections: usize,
	pub s2s_max_connections_per_ip: usize,
	pub component_max_connections: usize,
	pub max_resources_per_account: usize,
	pub max_offline_messages: usize,
	pub max_offline_bytes: u64,
	pub max_pending_subscriptions: usize,
	pub max_subscription_status_bytes: usize,
	pub max_roster_items: usize,
	pub max_private_bytes: usize,
	pub max_vcard_bytes: usize,
	pub import_max_account_bytes: usize,
	pub max_pep_nodes: usize,
	pub max_pep_items: u32,
	pub max_pep_bytes: u64,
	pub max_pep_subscriptions: usize,
	pub caps_cache_entries: usize,
	pub invite_expiry_days: u32,
	pub reset_expiry_hours: u32,
	pub max_invite_uses: u32,
	pub max_reset_tokens: usize,
	pub max_invites_per_account: usize,
	pub max_blocklist_items: usize,
	pub max_push_registrations: usize,
	pub max_archive_messages: u64,
	pub max_archive_bytes: u64,
	pub mam_retention_days: u32,
	pub mam_max_page: usize,
	pub mam_max_page_bytes: usize,
	pub disk_free_warning_bytes: u64,
	pub backup_reserve_bytes: u64,
	pub muc_max_rooms: usize,
	pub muc_max_rooms_per_account: usize,
	pub muc_max_occupants: u32,
	pub muc_max_sessions_per_occupant: usize,
	pub muc_history_messages: usize,
	pub muc_history_bytes: usize,
	pub upload_max_bytes: u64,
	pub upload_quota_bytes: u64,
	pub upload_expiry_days: u32,
	pub upload_slot_timeout: Duration,
	pub session_queue_len: usize,
	pub session_queue_bytes: usize,
	pub component_queue_len: usize,
	pub component_queue_bytes: usize,
	pub proxy_max_connections: usize,
	pub proxy_max_connections_per_ip: usize,
	pub proxy_timeout: Duration,
	pub s2s_queue_len: usize,
	pub s2s_queue_bytes: usize,
	pub auth_retries_per_connection: u32,
	pub auth_failures_per_ip: u32,
	pub auth_failures_per_account: u32,
	pub auth_failure_window: Duration,
	pub auth_backoff: Duration,
	pub negotiation_timeout: Duration,
	pub idle_timeout: Duration,
	pub sm_resume_timeout: Duration,
	pub sm_max_unacked: usize,
	pub sm_max_unacked_bytes: usize,
	pub csi_max_held: usize,
	pub csi_max_held_bytes: usize,
	pub fast_token_ttl: Duration,
	pub max_devices_per_account: usize,
	pub keepalive_interval: Duration,
	pub setup_code_failures: u32,
	pub setup_lockout: Duration,
	pub http_max_connections: usize,
	pub http_max_connections_per_ip: usize,
	pub http_max_request_bytes: usize,
	pub http_timeout: Duration,
	pub http_min_bytes_per_second: u64,
	pub console_max_sessions: usize,
	pub console_session_timeout: Duration,
	pub setup_restore_max_bytes: u64,
	pub bosh_max_body_bytes: usize,
	pub bosh_max_wait: Duration,
	pub bosh_max_hold: usize,
	pub bosh_inactivity: Duration,
}

/// Who may create an account in-band (XEP-0077).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
	/// Nobody: accounts come from the admin.
	Off,
	/// Only with an invitation token (XEP-0401/XEP-0445).
	Invite,
	/// Anyone who can reach the server.
	Open,
}

/// The server's whole configuration for one run.
#[derive(Debug, Clone)]
pub struct Config {
	pub domain: String,
	pub data_dir: PathBuf,
	/// Addresses to listen on; each gets both ports.
	pub listen: Vec<std::net::IpAddr>,
	/// STARTTLS port (RFC 6120); `None` = off, `Some(0)` = any free port (tests).
	pub c2s_port: Option<u16>,
	/// Direct TLS port (XEP-0368), same convention.
	pub c2s_tls_port: Option<u16>,
	pub tls_cert: Option<PathBuf>,
	pub tls_key: Option<PathBuf>,
	pub scram_iterations: u32,
	pub db_cache_bytes: usize,
	/// Web page (first-boot wizard, CA download); `None` = off.
	pub http_port: Option<u16>,
	/// HTTPS port for file upload and download (XEP-0363); `None` = off.
	pub upload_port: Option<u16>,
	/// SOCKS5 bytestreams proxy port (XEP-0065); `None` = off.
	pub proxy_port: Option<u16>,
	/// The host name or address the proxy tells clients to connect to;
	/// empty = the domain.
	pub proxy_host: String,
	/// Port for external components (XEP-0114), on loopback only; `None` = off.
	pub component_port: Option<u16>,
	/// Server-to-server port (federation); `None` = no federation at all.
	pub s2s_port: Option<u16>,
	/// Where some servers listen, instead of asking DNS (`s2s_hosts`).
	pub s2s_hosts: Vec<(String, crate::net::dns::Target)>,
	/// Announce the box on the LAN with mDNS/DNS-SD.
	pub mdns: bool,
	/// XEP-0077 in-band registration: who may make an account.
	pub registration: Registration,
	/// XEP-0313: what is archived for accounts that set no preferences.
	pub mam_default: crate::store::MamDefault,
	/// Host name announced over mDNS (`NAME.local`); empty = the system's.
	pub hostname: String,
	/// Where the first-boot banner is also written (say, the boot partition).
	pub banner_file: Option<PathBuf>,
	/// XEP-0157 contact addresses: (field such as `admin-addresses`, URI).
	pub contact_addresses: Vec<(&'static str, String)>,
	/// Statistics: the time series, its plots and `/metrics`.
	pub statistics: bool,
	/// Addresses besides loopback that may read `/metrics`.
	pub metrics_allow: Vec<crate::stats::cidr::Cidr>,
	/// The recovery key's public half (`age1...`) backups are encrypted to; empty = none.
	pub backup_recipient: String,
	/// Where scheduled backups go; `None` = `DATA_DIR/backups`.
	pub backup_dir: Option<PathBuf>,
	/// The daily backup's local time (hour, minute); `None` = no schedule.
	pub backup_time: Option<(u8, u8)>,
	/// How many scheduled backups are kept (older ones go after a success).
	pub backup_keep: usize,
	/// STUN/TURN for calls (XEP-0215) and the box's coturn.
	pub turn: crate::features::turn::TurnSettings,
	/// Converse.js's `dist/` served at `/chat/` on the HTTPS port; `None` = off.
	pub web_client_dir: Option<PathBuf>,
	pub limits: Limits,
}

impl Config {
	/// Defaults; `data_dir` is where the database and generated certificate live.
	pub fn new(data_dir: PathBuf) -> Config {
		let mut c = Config {
			domain: String::new(),
			data_dir,
			listen: Vec::new(),
			c2s_port: None,
			c2s_tls_port: None,
			tls_cert: None,
			tls_key: None,
			scram_iterations: 0,
			db_cache_bytes: 0,
			http_port: None,
			upload_port: None,
			component_port: None,
			proxy_port: None,
			proxy_host: String::new(),
			s2s_port: None,
			s2s_hosts: Vec::new(),
			mdns: false,
			registration: Registration::Invite,
			mam_default: crate::store::MamDefault::Always,
			hostname: String::new(),
			banner_file: None,
			contact_addresses: Vec::new(),
			statistics: true,
			metrics_allow: Vec::new(),
			backup_recipient: String::new(),
			backup_dir: None,
			backup_time: None,
			backup_keep: 0,
			turn: crate::features::turn::TurnSettings::default(),
			web_client_dir: None,
			limits: Limits {
				max_stanza_bytes: 0,
				max_depth: 0,
				max_attrs: 0,
				max_stanza_elements: 0,
				max_presence_bytes: 0,
				max_memory_bytes: 0,
				max_connections: 0,
				max_connections_per_ip: 0,
				s2s_max_connections: 0,
				s2s_max_connections_per_ip: 0,
				component_max_connections: 0,
				max_resources_per_account: 0,
				max_offline_messages: 0,
				max_offline_bytes: 0,
				max_pending_subscriptions: 0,
				max_subscription_status_bytes: 0,
				max_roster_items: 0,
				max_private_bytes: 0,
				max_vcard_bytes: 0,
				import_max_account_bytes: 0,
				max_pep_nodes: 0,
				max_pep_items: 0,
				max_pep_bytes: 0,
				max_pep_subscriptions: 0,
				caps_cache_entries: 0,
				invite_expiry_days: 0,
				reset_expiry_hours: 0,
				max_invite_uses: 0,
				max_reset_tokens: 0,
				max_invites_per_account: 0,
				max_blocklist_items: 0,
				max_push_registrations: 0,
				max_archive_messages: 0,
				max_archive_bytes: 0,
				mam_retention_days: 0,
				mam_max_page: 0,
				mam_max_page_bytes: 0,
				disk_free_warning_bytes: 0,
				backup_reserve_bytes: 0,
				muc_max_rooms: 0,
				muc_max_rooms_per_account: 0,
				muc_max_occupants: 0,
				muc_max_sessions_per_occupant: 0,
				muc_history_messages: 0,
				muc_history_bytes: 0,
				upload_max_bytes: 0,
				upload_quota_bytes: 0,
				upload_expiry_days: 0,
				upload_slot_timeout: Duration::ZERO,
				session_queue_len: 0,
				session_queue_bytes: 0,
				component_queue_len: 0,
				component_queue_bytes: 0,
				proxy_max_connections: 0,
				proxy_max_connections_per_ip: 0,
				proxy_timeout: Duration::ZERO,
				s2s_queue_len: 0,
				s2s_queue_bytes: 0,
				auth_retries_per_connection: 0,
				auth_failures_per_ip: 0,
				auth_failures_per_account: 0,
				auth_failure_window: Duration::ZERO,
				auth_backoff: Duration::ZERO,
				negotiation_timeout: Duration::ZERO,
				idle_timeout: Duration::ZERO,
				sm_resume_timeout: Duration::ZERO,
				sm_max_unacked: 0,
				sm_max_unacked_bytes: 0,
				csi_max_held: 0,
				csi_max_held_bytes: 0,
				fast_token_ttl: Duration::ZERO,
				max_devices_per_account: 0,
				keepalive_interval: Duration::ZERO,
				setup_code_failures: 0,
				setup_lockout: Duration::ZERO,
				http_max_connections: 0,
				http_max_connections_per_ip: 0,
				http_max_request_bytes: 0,
				http_timeout: Duration::ZERO,
				http_min_bytes_per_second: 0,
				console_max_sessions: 0,
				console_session_timeout: Duration::ZERO,
				setup_restore_max_bytes: 0,
				bosh_max_body_bytes: 0,
				bosh_max_wait: Duration::ZERO,
				bosh_max_hold: 0,
				bosh_inactivity: Duration::ZERO,
			},
		};
		for s in SETTINGS {
			// The defaults below are checked by a unit test, so this cannot fail.
			let _ = (s.apply)(&mut c, s.default);
		}
		c
	}

	/// The folder scheduled backups go to.
	pub fn backups(&self) -> PathBuf {
		self.backup_dir.clone().unwrap_or_else(|| self.data_dir.join("backups"))
	}

	/// Whether the first-boot setup has been done (a domain is set).
	pub fn configured(&self) -> bool {
		!self.domain.is_empty()
	}

	/// Applies `name = value`; the error says what is wrong.
	pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
		let s = setting(name).ok_or_else(|| format!("unknown setting {name:?} (see `xerra config list`)"))?;
		(s.apply)(self, value).map_err(|e| format!("{name}: {e}"))
	}
}

/// One named setting.
pub struct Setting {
	pub name: &'static str,
	pub default: &'static str,
	pub doc: &'static str,
	apply: fn(&mut Config, &str) -> Result<(), String>,
}

pub fn setting(name: &str) -> Option<&'static Setting> {
	SETTINGS.iter().find(|s| s.name == name)
}

fn num<T: TryFrom<i64>>(v: &str, min: i64, max: i64) -> Result<T, String> {
	let n: i64 = v.trim().parse().map_err(|_| format!("{v:?} is not a number"))?;
	if n < min || n > max {
		return Err(format!("must be between {min} and {max}"));
	}
	T::try_from(n).map_err(|_| format!("must be between {min} and {max}"))
}

/// A port number, "off", or 0 for any free port.
fn port(v: &str) -> Result<Option<u16>, String> {
	if v.trim() == "off" {
		return Ok(None);
	}
	num(v, 0, 65535).map(Some)
}

fn secs(v: &str, min: i64, max: i64) -> Result<Duration, String> {
	num(v, min, max).map(Duration::from_secs)
}

fn domain(v: &str) -> Result<String, String> {
	let jid = crate::xmpp::jid::BareJid::new(None, v.trim()).map_err(|e| format!("not a valid domain: {e}"))?;
	Ok(jid.domain().to_owned())
}

fn switch(v: &str) -> Result<bool, String> {
	match v.trim() {
		"on" | "yes" | "true" | "1" => Ok(true),
		"off" | "no" | "false" | "0" => Ok(false),
		_ => Err("on or off".into()),
	}
}

fn path(v: &str) -> Option<PathBuf> {
	let v = v.trim();
	(!v.is_empty()).then(|| PathBuf::from(v))
}

/// XEP-0157's address kinds, as its form fields are named.
const CONTACT_KINDS: [&str; 7] = [
	"abuse-addresses",
	"admin-addresses",
	"feedback-addresses",
	"sales-addresses",
	"security-addresses",
	"status-addresses",
	"support-addresses",
];

/// `kind=URI` entries; a URI needs a scheme (`xmpp:`, `mailto:`, `https:`).
fn parse_contacts(v: &str) -> Result<Vec<(&'static str, String)>, String> {
	let mut out = Vec::new();
	for entry in v.split(',').map(str::trim).filter(|e| !e.is_empty()) {
		let (kind, uri) = entry.split_once('=').ok_or_else(|| format!("{entry:?} is not kind=URI"))?;
		let field = format!("{}-addresses", kind.trim());
		let field = CONTACT_KINDS.into_iter().find(|k| *k == field).ok_or_else(|| format!("{:?} is not a kind of contact", kind.trim()))?;
		let uri = uri.trim();
		let scheme_ok = uri.split_once(':').is_some_and(|(s, rest)| {
			!s.is_empty() && !rest.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
		});
		if !scheme_ok || uri.chars().any(char::is_whitespace) {
			return Err(format!("{uri:?} is not a URI like xmpp:admin@example.org or mailto:it@example.org"));
		}
		out.push((field, uri.to_owned()));
	}
	Ok(out)
}

/// A daily time `HH:MM` (24 hours), or "off".
fn daily_time(v: &str) -> Result<Option<(u8, u8)>, String> {
	let v = v.trim();
	if v == "off" {
		return Ok(None);
	}
	let bad = || format!("{v:?} is not a time like 03:30 (HH:MM, 24 hours) or off");
	let (h, m) = v.split_once(':').ok_or_else(bad)?;
	if h.is_empty() || h.len() > 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
		return Err(bad());
	}
	let (h, m): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
	if h > 23 || m > 59 {
		return Err(bad());
	}
	Ok(Some((h, m)))
}

fn addrs(v: &str) -> Result<Vec<std::net::IpAddr>, String> {
	v.split(',').map(str::trim).filter(|a| !a.is_empty()).map(|a| a.parse().map_err(|_| format!("{a:?} is not an IP address"))).collect()
}

/// All settings, in the order `xerra config list` shows them.
pub static SETTINGS: &[Setting] = &[
	Setting {
		name: "domain",
		default: "",
		doc: "the chat domain: user JIDs are name@domain; empty = not set up yet (the first-boot wizard runs)",
		apply: |c, v| {
			c.domain = if v.trim().is_empty() { String::new() } else { domain(v)? };
			Ok(())
		},
	},
	Setting {
		name: "listen",
		default: "0.0.0.0,::",
		doc: "comma-separated IP addresses to listen on (IPv4 and IPv6)",
		apply: |c, v| {
			c.listen = addrs(v)?;
			Ok(())
		},
	},
	Setting {
		name: "c2s_port",
		default: "5222",
		doc: "client port with STARTTLS (RFC 6120); off = none, 0 = any free port",
		apply: |c, v| {
			c.c2s_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "c2s_tls_port",
		default: "5223",
		doc: "client port with direct TLS (XEP-0368); off = none, 0 = any free port",
		apply: |c, v| {
			c.c2s_tls_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "tls_cert",
		default: "",
		doc: "PEM certificate chain; empty = one signed by the box's own CA, kept in the data directory",
		apply: |c, v| {
			c.tls_cert = path(v);
			Ok(())
		},
	},
	Setting {
		name: "tls_key",
		default: "",
		doc: "PEM private key for tls_cert",
		apply: |c, v| {
			c.tls_key = path(v);
			Ok(())
		},
	},
	Setting {
		name: "scram_iterations",
		default: "4096",
		doc: "PBKDF2 iterations for new passwords (RFC 7677 minimum 4096)",
		apply: |c, v| {
			c.scram_iterations = num(v, 4096, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "db_cache_bytes",
		default: "4194304",
		doc: "database page cache in bytes",
		apply: |c, v| {
			c.db_cache_bytes = num(v, 65536, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "max_stanza_bytes",
		default: "262144",
		doc: "largest stanza accepted; larger ones end the stream with policy-violation",
		apply: |c, v| {
			c.limits.max_stanza_bytes = num(v, 10_000, 16 << 20)?;
			Ok(())
		},
	},
	Setting {
		name: "max_depth",
		default: "32",
		doc: "deepest element nesting inside a stanza",
		apply: |c, v| {
			c.limits.max_depth = num(v, 4, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_attrs",
		default: "64",
		doc: "most attributes on one element",
		apply: |c, v| {
			c.limits.max_attrs = num(v, 8, 10_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_stanza_elements",
		default: "2048",
		doc: "most elements in one stanza (64 before login); more ends the stream with policy-violation",
		apply: |c, v| {
			c.limits.max_stanza_elements = num(v, 16, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_presence_bytes",
		default: "16384",
		doc: "largest presence stanza (it is kept per session and per room, and copied to every contact); larger gets policy-violation",
		apply: |c, v| {
			c.limits.max_presence_bytes = num(v, 1024, 16 << 20)?;
			Ok(())
		},
	},
	Setting {
		name: "max_memory_bytes",
		default: "auto",
		doc: "memory for stanzas being read, queued, unacknowledged or kept as room history, all together; auto = RAM/16 between 16 and 64 MiB",
		apply: |c, v| {
			c.limits.max_memory_bytes = if v.trim() == "auto" { crate::mem::default_limit() } else { num(v, 4 << 20, 1 << 40)? };
			Ok(())
		},
	},
	Setting {
		name: "max_connections",
		default: "20000",
		doc: "open client connections (c2s and WebSocket) in total; more are refused (policy-violation); peers and components have totals of their own",
		apply: |c, v| {
			c.limits.max_connections = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_connections_per_ip",
		default: "100",
		doc: "open client connections from one IPv4 address or IPv6 /64",
		apply: |c, v| {
			c.limits.max_connections_per_ip = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_max_connections",
		default: "500",
		doc: "open connections from other servers (federation) in total, apart from clients'; more are refused (policy-violation)",
		apply: |c, v| {
			c.limits.s2s_max_connections = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_max_connections_per_ip",
		default: "20",
		doc: "open connections from other servers at one IPv4 address or IPv6 /64",
		apply: |c, v| {
			c.limits.s2s_max_connections_per_ip = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "component_max_connections",
		default: "64",
		doc: "open connections to the component port (XEP-0114, loopback only), apart from clients'; more are refused (policy-violation)",
		apply: |c, v| {
			c.limits.component_max_connections = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_resources_per_account",
		default: "16",
		doc: "sessions one account may have at once",
		apply: |c, v| {
			c.limits.max_resources_per_account = num(v, 1, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_offline_messages",
		default: "1000",
		doc: "messages stored for one offline account (XEP-0160)",
		apply: |c, v| {
			c.limits.max_offline_messages = num(v, 0, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_offline_bytes",
		default: "8388608",
		doc: "bytes of messages stored for one offline account; beyond it the sender gets service-unavailable, as past max_offline_messages",
		apply: |c, v| {
			c.limits.max_offline_bytes = num(v, 1024, 1 << 40)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pending_subscriptions",
		default: "100",
		doc: "subscription requests (RFC 6121 §3.1) waiting for one account's answer; one more is refused with resource-constraint",
		apply: |c, v| {
			c.limits.max_pending_subscriptions = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_subscription_status_bytes",
		default: "1024",
		doc: "longest <status/> text of a subscription request; a longer one is cut to this (on a character boundary), delivered and kept so",
		apply: |c, v| {
			c.limits.max_subscription_status_bytes = num(v, 0, 65536)?;
			Ok(())
		},
	},
	Setting {
		name: "max_roster_items",
		default: "2000",
		doc: "contacts in one roster",
		apply: |c, v| {
			c.limits.max_roster_items = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_private_bytes",
		default: "65536",
		doc: "private XML storage (XEP-0049) per account; beyond it a set gets resource-constraint",
		apply: |c, v| {
			c.limits.max_private_bytes = num(v, 0, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "max_vcard_bytes",
		default: "131072",
		doc: "largest vCard (XEP-0054, photo included) an account may store; larger gets not-acceptable",
		apply: |c, v| {
			c.limits.max_vcard_bytes = num(v, 1024, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "import_max_account_bytes",
		default: "67108864",
		doc: "bytes of one account (or of the rooms) in a file given to `xerra import`; a larger one is skipped and reported",
		apply: |c, v| {
			c.limits.import_max_account_bytes = num(v, 1 << 16, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pep_nodes",
		default: "64",
		doc: "PEP nodes (XEP-0163) per account; publishing to one more gets resource-constraint",
		apply: |c, v| {
			c.limits.max_pep_nodes = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pep_items",
		default: "256",
		doc: "items kept per PEP node at most (what a node's max_items \"max\" means); older ones are dropped",
		apply: |c, v| {
			c.limits.max_pep_items = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pep_bytes",
		default: "1048576",
		doc: "all PEP items of one account (avatars, OMEMO keys, bookmarks); beyond it a publish gets resource-constraint",
		apply: |c, v| {
			c.limits.max_pep_bytes = num(v, 1024, 1 << 34)?;
			Ok(())
		},
	},
	Setting {
		name: "max_pep_subscriptions",
		default: "256",
		doc: "explicit subscriptions to PEP nodes (XEP-0060 §6.1) one account may hold; one more gets policy-violation",
		apply: |c, v| {
			c.limits.max_pep_subscriptions = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "caps_cache_entries",
		default: "512",
		doc: "client feature sets (XEP-0115 caps) remembered; beyond it the oldest is forgotten and asked again",
		apply: |c, v| {
			c.limits.caps_cache_entries = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_blocklist_items",
		default: "1000",
		doc: "JIDs one account may block (XEP-0191); more gets resource-constraint",
		apply: |c, v| {
			c.limits.max_blocklist_items = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_push_registrations",
		default: "8",
		doc: "push notification services (XEP-0357) one account may register, one per phone app",
		apply: |c, v| {
			c.limits.max_push_registrations = num(v, 0, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_archive_messages",
		default: "20000",
		doc: "messages kept in one account's archive (XEP-0313); the oldest go first",
		apply: |c, v| {
			c.limits.max_archive_messages = num(v, 1, 100_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_archive_bytes",
		default: "67108864",
		doc: "bytes kept in one account's (or room's) archive (XEP-0313); the oldest go first",
		apply: |c, v| {
			c.limits.max_archive_bytes = num(v, 1 << 20, 1 << 40)?;
			Ok(())
		},
	},
	Setting {
		name: "mam_retention_days",
		default: "365",
		doc: "archived messages older than this are deleted (checked daily); 0 keeps them",
		apply: |c, v| {
			c.limits.mam_retention_days = num(v, 0, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "mam_max_page",
		default: "100",
		doc: "most archived messages in one answer (XEP-0059 max); clients page for more",
		apply: |c, v| {
			c.limits.mam_max_page = num(v, 1, 10_000)?;
			Ok(())
		},
	},
	Setting {
		name: "mam_max_page_bytes",
		default: "262144",
		doc: "archived XML in one answer to an archive query (one message at least); a page is cut short there and marked incomplete",
		apply: |c, v| {
			c.limits.mam_max_page_bytes = num(v, 4096, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "disk_free_warning_bytes",
		default: "104857600",
		doc: "free space on the data directory's file system below which the log warns and `xerra status` says low",
		apply: |c, v| {
			c.limits.disk_free_warning_bytes = num(v, 0, 1 << 60)?;
			Ok(())
		},
	},
	Setting {
		name: "backup_reserve_bytes",
		default: "67108864",
		doc: "free space a backup must leave on its destination's file system (estimated first); less: the backup is refused, nothing written",
		apply: |c, v| {
			c.limits.backup_reserve_bytes = num(v, 0, 1 << 60)?;
			Ok(())
		},
	},
	Setting {
		name: "backup_recipient",
		default: "",
		doc: "the recovery key's public half (age1...), set by `xerra backup key`; backups are encrypted to it; empty = ask for a passphrase",
		apply: |c, v| {
			let v = v.trim();
			if !v.is_empty() && !crate::backup::valid_recipient(v) {
				return Err("not a recovery key's public half (age1...); `xerra backup key` makes one".into());
			}
			c.backup_recipient = v.to_owned();
			Ok(())
		},
	},
	Setting {
		name: "muc_max_rooms",
		default: "1000",
		doc: "rooms on the service (XEP-0045); joining a new one beyond it gets not-allowed",
		apply: |c, v| {
			c.limits.muc_max_rooms = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_max_rooms_per_account",
		default: "20",
		doc: "rooms one account may make and own at once (XEP-0045); making one more gets not-allowed",
		apply: |c, v| {
			c.limits.muc_max_rooms_per_account = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_max_occupants",
		default: "200",
		doc: "the most occupants a room may allow (its maxusers is capped to it); joining a full room gets service-unavailable",
		apply: |c, v| {
			c.limits.muc_max_occupants = num(v, 2, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_max_sessions_per_occupant",
		default: "8",
		doc: "sessions (devices) one account may be in a room with under one nick (XEP-0045 §7.2.9); one more gets conflict",
		apply: |c, v| {
			c.limits.muc_max_sessions_per_occupant = num(v, 1, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_history_messages",
		default: "20",
		doc: "recent room messages sent to someone who joins",
		apply: |c, v| {
			c.limits.muc_history_messages = num(v, 0, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "muc_history_bytes",
		default: "262144",
		doc: "room history kept per room in bytes; the oldest messages go first",
		apply: |c, v| {
			c.limits.muc_history_bytes = num(v, 0, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_max_bytes",
		default: "104857600",
		doc: "largest file one HTTP upload (XEP-0363) may carry; a bigger slot request gets not-acceptable with file-too-large",
		apply: |c, v| {
			c.limits.upload_max_bytes = num(v, 1, 1 << 40)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_quota_bytes",
		default: "1073741824",
		doc: "what one account's uploads may take on disk until they expire; beyond it a slot request gets resource-constraint",
		apply: |c, v| {
			c.limits.upload_quota_bytes = num(v, 1, 1 << 50)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_expiry_days",
		default: "30",
		doc: "uploaded files are deleted this many days later (checked at start and daily); 0 keeps them",
		apply: |c, v| {
			c.limits.upload_expiry_days = num(v, 0, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_slot_timeout",
		default: "300",
		doc: "seconds a client has to PUT a file after it got an upload slot",
		apply: |c, v| {
			c.limits.upload_slot_timeout = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "session_queue_len",
		default: "512",
		doc: "stanzas queued for one slow client before it is disconnected",
		apply: |c, v| {
			c.limits.session_queue_len = num(v, 8, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "session_queue_bytes",
		default: "1048576",
		doc: "bytes queued for a client that does not read fast enough; beyond it the session ends and what waited goes to offline storage",
		apply: |c, v| {
			c.limits.session_queue_bytes = num(v, 16384, 1 << 32)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_retries_per_connection",
		default: "3",
		doc: "failed SASL attempts before the stream is closed (RFC 6120 §6.4.5)",
		apply: |c, v| {
			c.limits.auth_retries_per_connection = num(v, 2, 5)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_failures_per_ip",
		default: "20",
		doc: "failed logins (and other SASL failures) from one IPv4 address or IPv6 /64 per window before logins from it are refused",
		apply: |c, v| {
			c.limits.auth_failures_per_ip = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_failures_per_account",
		default: "5",
		doc: "failed logins for one account from one address (IPv6 /64) before each further attempt from there waits auth_backoff, doubling",
		apply: |c, v| {
			c.limits.auth_failures_per_account = num(v, 1, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_failure_window",
		default: "300",
		doc: "seconds a failed login counts against the address; also the longest backoff, and the quiet time that takes one failure off an account",
		apply: |c, v| {
			c.limits.auth_failure_window = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "auth_backoff",
		default: "2",
		doc: "seconds the first attempt beyond auth_failures_per_account waits; twice as long after each further failure, up to auth_failure_window",
		apply: |c, v| {
			c.limits.auth_backoff = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "negotiation_timeout",
		default: "60",
		doc: "seconds a new connection has to authenticate and bind",
		apply: |c, v| {
			c.limits.negotiation_timeout = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "sm_resume_timeout",
		default: "300",
		doc: "seconds a lost stream-managed session waits for its client to resume (XEP-0198); then unacknowledged messages go to offline storage",
		apply: |c, v| {
			c.limits.sm_resume_timeout = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "sm_max_unacked",
		default: "2000",
		doc: "stanzas a stream-managed client has not acknowledged, or that wait while it is away; beyond it the stream ends (policy-violation) or the waiting session ends",
		apply: |c, v| {
			c.limits.sm_max_unacked = num(v, 16, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "sm_max_unacked_bytes",
		default: "2097152",
		doc: "bytes of stanzas a stream-managed client has not acknowledged (or that wait while it is away); beyond it the stream ends, nothing is lost",
		apply: |c, v| {
			c.limits.sm_max_unacked_bytes = num(v, 16384, 1 << 32)?;
			Ok(())
		},
	},
	Setting {
		name: "csi_max_held",
		default: "100",
		doc: "presence updates, chat states and PEP events kept back for an inactive client (XEP-0352); at the limit they all go",
		apply: |c, v| {
			c.limits.csi_max_held = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "csi_max_held_bytes",
		default: "262144",
		doc: "bytes kept back for an inactive client (XEP-0352); at the limit they all go",
		apply: |c, v| {
			c.limits.csi_max_held_bytes = num(v, 1024, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "fast_token_ttl",
		default: "1814400",
		doc: "seconds a FAST token (XEP-0484) lives from its issue (21 days, as Prosody); then the app logs in with its password again",
		apply: |c, v| {
			c.limits.fast_token_ttl = secs(v, 2, 31_536_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_devices_per_account",
		default: "20",
		doc: "devices (SASL2 user-agent ids) kept per account, each with at most two FAST tokens; a new one beyond drops the one seen longest ago",
		apply: |c, v| {
			c.limits.max_devices_per_account = num(v, 1, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "idle_timeout",
		default: "900",
		doc: "seconds without any data from a client before connection-timeout (and both ways on a proxy stream before it is closed)",
		apply: |c, v| {
			c.limits.idle_timeout = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "keepalive_interval",
		default: "60",
		doc: "seconds of silence after which the server sends a whitespace keepalive",
		apply: |c, v| {
			c.limits.keepalive_interval = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "http_port",
		default: "5280",
		doc: "web page port (first-boot wizard, CA download); off = none; `run --appliance` uses 80",
		apply: |c, v| {
			c.http_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "upload_port",
		default: "5443",
		doc: "HTTPS port for file transfer (XEP-0363 HTTP upload), on the box's certificate; off = no file transfer",
		apply: |c, v| {
			c.upload_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "proxy_port",
		default: "7777",
		doc: "SOCKS5 bytestreams proxy (XEP-0065) for file transfers between clients that cannot reach each other; off = no proxy",
		apply: |c, v| {
			c.proxy_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "proxy_host",
		default: "",
		doc: "the host name or IP address clients are told to connect to for the proxy; empty = the chat domain",
		apply: |c, v| {
			let v = v.trim();
			if v.chars().any(|ch| ch.is_whitespace() || ch == '/' || ch == '\\') {
				return Err("a host name or IP address".into());
			}
			c.proxy_host = v.to_owned();
			Ok(())
		},
	},
	Setting {
		name: "proxy_max_connections",
		default: "64",
		doc: "connections to the proxy at once (a transfer takes two); more are closed at once",
		apply: |c, v| {
			c.limits.proxy_max_connections = num(v, 2, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "proxy_max_connections_per_ip",
		default: "16",
		doc: "connections to the proxy at once from one address (IPv6: one /64); more are closed at once",
		apply: |c, v| {
			c.limits.proxy_max_connections_per_ip = num(v, 2, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "proxy_timeout",
		default: "60",
		doc: "seconds from connecting to the proxy until the transfer is started; then the connection is closed",
		apply: |c, v| {
			c.limits.proxy_timeout = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_port",
		default: "5269",
		doc: "server-to-server port (federation with other XMPP servers, RFC 6120); off = no federation at all",
		apply: |c, v| {
			c.s2s_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_hosts",
		default: "",
		doc: "where other servers listen when DNS does not say (a LAN): domain=host:port entries, comma-separated",
		apply: |c, v| {
			c.s2s_hosts = crate::net::dns::parse_static(v)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_queue_len",
		default: "1000",
		doc: "most stanzas waiting for one other server (while connecting, or when it is slow); beyond it senders get remote-server-timeout",
		apply: |c, v| {
			c.limits.s2s_queue_len = num(v, 8, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "s2s_queue_bytes",
		default: "1048576",
		doc: "bytes waiting for one other server; beyond it senders get remote-server-timeout",
		apply: |c, v| {
			c.limits.s2s_queue_bytes = num(v, 16384, 1 << 32)?;
			Ok(())
		},
	},
	Setting {
		name: "component_port",
		default: "5347",
		doc: "port for external components (XEP-0114; `xerra component add`), on 127.0.0.1 and ::1 only; off = none",
		apply: |c, v| {
			c.component_port = port(v)?;
			Ok(())
		},
	},
	Setting {
		name: "component_queue_len",
		default: "10000",
		doc: "most stanzas waiting for one external component; one that does not keep up is disconnected",
		apply: |c, v| {
			c.limits.component_queue_len = num(v, 8, 1_000_000)?;
			Ok(())
		},
	},
	Setting {
		name: "component_queue_bytes",
		default: "4194304",
		doc: "bytes queued for one component; beyond it the component is disconnected and senders get remote-server-timeout",
		apply: |c, v| {
			c.limits.component_queue_bytes = num(v, 16384, 1 << 32)?;
			Ok(())
		},
	},
	Setting {
		name: "registration",
		default: "invite",
		doc: "in-band registration (XEP-0077): off, invite (only with an invitation, XEP-0401/0445) or open (anyone)",
		apply: |c, v| {
			c.registration = match v.trim() {
				"off" => Registration::Off,
				"invite" => Registration::Invite,
				"open" => Registration::Open,
				_ => return Err("must be off, invite or open".into()),
			};
			Ok(())
		},
	},
	Setting {
		name: "mam_default",
		default: "always",
		doc: "message history (XEP-0313) for accounts that chose nothing: always, roster (only with contacts) or never",
		apply: |c, v| {
			c.mam_default = crate::store::MamDefault::parse(v.trim()).ok_or("must be always, roster or never")?;
			Ok(())
		},
	},
	Setting {
		name: "invite_expiry_days",
		default: "7",
		doc: "days an invitation (XEP-0401) stays good; each is used once",
		apply: |c, v| {
			c.limits.invite_expiry_days = num(v, 1, 3650)?;
			Ok(())
		},
	},
	Setting {
		name: "max_invite_uses",
		default: "100",
		doc: "accounts one admin invitation may make (`xerra invite add --uses N`, the console); more is refused",
		apply: |c, v| {
			c.limits.max_invite_uses = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "reset_expiry_hours",
		default: "24",
		doc: "hours a password reset link (`xerra user reset`, the console) stays good; each is used once",
		apply: |c, v| {
			c.limits.reset_expiry_hours = num(v, 1, 720)?;
			Ok(())
		},
	},
	Setting {
		name: "max_reset_tokens",
		default: "100",
		doc: "open password reset links on the box (one per account; a new one replaces the older); one more is refused",
		apply: |c, v| {
			c.limits.max_reset_tokens = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "max_invites_per_account",
		default: "10",
		doc: "open invitations one account may have made from its app (XEP-0401 \"Invite someone\"); one more gets resource-constraint",
		apply: |c, v| {
			c.limits.max_invites_per_account = num(v, 0, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "mdns",
		default: "off",
		doc: "announce NAME.local and _xmpp-client._tcp on the LAN (mDNS/DNS-SD); `run --appliance` turns it on",
		apply: |c, v| {
			c.mdns = switch(v)?;
			Ok(())
		},
	},
	Setting {
		name: "hostname",
		default: "",
		doc: "host name announced over mDNS as NAME.local; empty = the system host name",
		apply: |c, v| {
			let v = v.trim();
			if !v.is_empty() && !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
				return Err("letters, digits and - only".into());
			}
			c.hostname = v.to_ascii_lowercase();
			Ok(())
		},
	},
	Setting {
		name: "banner_file",
		default: "",
		doc: "file that also gets the first-boot banner (URL, setup code, CA fingerprint), e.g. on the boot partition",
		apply: |c, v| {
			c.banner_file = path(v);
			Ok(())
		},
	},
	Setting {
		name: "contact_addresses",
		default: "",
		doc: "whom to ask about this server (XEP-0157), kind=URI entries, comma-separated, kinds admin, support, abuse, security, feedback, sales, status; the first-boot wizard sets admin, support and abuse to xmpp:ADMIN@DOMAIN",
		apply: |c, v| {
			c.contact_addresses = parse_contacts(v)?;
			Ok(())
		},
	},
	Setting {
		name: "statistics",
		default: "on",
		doc: "keep statistics: a point every 5 minutes (24 h at 5 min, 7 days hourly, 30 days at 6 h; one database write each) for the console's plots, and /metrics; off = neither (404)",
		apply: |c, v| {
			c.statistics = switch(v)?;
			Ok(())
		},
	},
	Setting {
		name: "metrics_allow",
		default: "",
		doc: "addresses besides loopback that may read OpenMetrics at /metrics on http_port: comma-separated CIDR blocks or addresses (10.0.0.0/8, fd00::/8, 192.168.1.5); others get 403",
		apply: |c, v| {
			c.metrics_allow = crate::stats::cidr::parse_list(v)?;
			Ok(())
		},
	},
	Setting {
		name: "backup_dir",
		default: "",
		doc: "folder for scheduled backups (a USB stick's mount point, say); empty = DATA_DIR/backups, on the same card as the data: copy them off the box too",
		apply: |c, v| {
			c.backup_dir = path(v);
			Ok(())
		},
	},
	Setting {
		name: "backup_time",
		default: "03:30",
		doc: "when the daily backup is made, HH:MM local time, or off; it is encrypted to the recovery key and skipped (with a warning) while there is none; missed while the box was off: made at the next start",
		apply: |c, v| {
			c.backup_time = daily_time(v)?;
			Ok(())
		},
	},
	Setting {
		name: "backup_keep",
		default: "7",
		doc: "scheduled backups kept in backup_dir; after a new one succeeds the oldest beyond this many are deleted (never before, and never other files)",
		apply: |c, v| {
			c.backup_keep = num(v, 1, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "setup_code_failures",
		default: "5",
		doc: "wrong setup codes from one address on the web wizard before it refuses that address for setup_lockout (other addresses go on; wrong codes overall are answered one per second)",
		apply: |c, v| {
			c.limits.setup_code_failures = num(v, 1, 1000)?;
			Ok(())
		},
	},
	Setting {
		name: "setup_restore_max_bytes",
		default: "4294967296",
		doc: "largest backup file the web wizard's \"Restore from a backup\" takes (streamed to the data directory, never held in memory); larger: 413 before it is read",
		apply: |c, v| {
			c.limits.setup_restore_max_bytes = num(v, 1 << 20, 1 << 40)?;
			Ok(())
		},
	},
	Setting {
		name: "setup_lockout",
		default: "60",
		doc: "seconds the web wizard refuses codes from an address after setup_code_failures wrong ones from it",
		apply: |c, v| {
			c.limits.setup_lockout = secs(v, 1, 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "http_max_connections",
		default: "32",
		doc: "simultaneous connections to the web page, and to the HTTPS port (TLS handshakes, uploads, downloads; not WebSocket sessions once open); the web page answers more with 503, the HTTPS port closes them",
		apply: |c, v| {
			c.limits.http_max_connections = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "http_max_connections_per_ip",
		default: "8",
		doc: "of those, from one address (IPv6: one /64); more are answered or closed as when all are taken",
		apply: |c, v| {
			c.limits.http_max_connections_per_ip = num(v, 1, 100_000)?;
			Ok(())
		},
	},
	Setting {
		name: "http_max_request_bytes",
		default: "16384",
		doc: "largest web request (headers and body); larger ones get 413/431",
		apply: |c, v| {
			c.limits.http_max_request_bytes = num(v, 1024, 1 << 20)?;
			Ok(())
		},
	},
	Setting {
		name: "http_timeout",
		default: "10",
		doc: "seconds a web client has from connecting to the end of its request head (TLS handshake included; the web page: and body), then 408; also the period of http_min_bytes_per_second",
		apply: |c, v| {
			c.limits.http_timeout = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "http_min_bytes_per_second",
		default: "4096",
		doc: "slowest upload or download body on the HTTPS port: one that moves less in any period of http_timeout is cut (an upload gets 408, its slot stays open)",
		apply: |c, v| {
			c.limits.http_min_bytes_per_second = num(v, 1, 1 << 30)?;
			Ok(())
		},
	},
	Setting {
		name: "console_max_sessions",
		default: "16",
		doc: "web console logins kept at once (all admins together); one more logs out the one unused the longest",
		apply: |c, v| {
			c.limits.console_max_sessions = num(v, 1, 10_000)?;
			Ok(())
		},
	},
	Setting {
		name: "console_session_timeout",
		default: "3600",
		doc: "seconds a web console login lasts without being used; then the admin logs in again",
		apply: |c, v| {
			c.limits.console_session_timeout = secs(v, 60, 30 * 86_400)?;
			Ok(())
		},
	},
	// Calls: STUN/TURN (XEP-0215) and the box's coturn (features::turn, features::coturn).
	Setting {
		name: "turn",
		default: "off",
		doc: "STUN/TURN for calls (XEP-0215): off; local = the box's coturn, run from the file at turn_config; external = another server sharing turn_secret",
		apply: |c, v| {
			c.turn.mode = crate::features::turn::parse_mode(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_host",
		default: "",
		doc: "the host name or IP address clients are told to use for STUN/TURN; empty = the chat domain",
		apply: |c, v| {
			let v = v.trim();
			if v.chars().any(|ch| ch.is_whitespace() || ch == '/' || ch == '\\') {
				return Err("a host name or IP address".into());
			}
			c.turn.host = v.to_owned();
			Ok(())
		},
	},
	Setting {
		name: "turn_port",
		default: "3478",
		doc: "the STUN/TURN port, UDP and TCP",
		apply: |c, v| {
			c.turn.port = num(v, 1, 65535)?;
			Ok(())
		},
	},
	Setting {
		name: "turns_port",
		default: "0",
		doc: "TURN over TLS port (coturn uses the server's certificate); 0 = none",
		apply: |c, v| {
			let p: u16 = num(v, 0, 65535)?;
			c.turn.tls_port = (p != 0).then_some(p);
			Ok(())
		},
	},
	Setting {
		name: "turn_secret",
		default: "",
		doc: "secret shared with the TURN server (coturn's static-auth-secret); empty with turn=local = generated at start and stored here; never logged",
		apply: |c, v| {
			c.turn.secret = crate::features::turn::parse_secret(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_credential_ttl",
		default: "86400",
		doc: "seconds a TURN credential handed out is valid; past it the TURN server refuses it (401)",
		apply: |c, v| {
			c.turn.credential_ttl = secs(v, 1, 30 * 86_400)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_relay_ports",
		default: "49152-65535",
		doc: "UDP ports the TURN server relays calls on, MIN-MAX (coturn's min-port/max-port); a call needs one per party",
		apply: |c, v| {
			c.turn.relay_ports = crate::features::turn::parse_range(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_external_ip",
		default: "",
		doc: "the box's public address when behind NAT, PUBLIC or PUBLIC/PRIVATE (coturn's external-ip); empty = none",
		apply: |c, v| {
			c.turn.external_ip = crate::features::turn::parse_external_ip(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_listen",
		default: "",
		doc: "comma-separated addresses the box's coturn listens on (listening-ip); empty = all",
		apply: |c, v| {
			c.turn.listen = addrs(v)?;
			Ok(())
		},
	},
	Setting {
		name: "turn_config",
		default: "",
		doc: "where the server writes coturn's configuration when turn=local (0600); empty = DATA_DIR/turnserver.conf",
		apply: |c, v| {
			c.turn.config_file = path(v);
			Ok(())
		},
	},
	// Issue 15, the web client and BOSH.
	Setting {
		name: "web_client_dir",
		default: "/usr/share/xerra/chat",
		doc: "folder holding Converse.js's dist/ files, served with a page of ours at /chat/ on the HTTPS port; missing: /chat/ says the web client is not installed; empty = off (404)",
		apply: |c, v| {
			c.web_client_dir = path(v);
			Ok(())
		},
	},
	Setting {
		name: "bosh_max_body_bytes",
		default: "327680",
		doc: "largest BOSH request body at /http-bind (its stanzas are held while it is read), and about the most a response carries; larger: 413",
		apply: |c, v| {
			c.limits.bosh_max_body_bytes = num(v, 4096, 16 << 20)?;
			Ok(())
		},
	},
	Setting {
		name: "bosh_max_wait",
		default: "60",
		doc: "seconds a BOSH request is held at most waiting for data (a client's larger wait is lowered to this); then it is answered empty",
		apply: |c, v| {
			c.limits.bosh_max_wait = secs(v, 1, 3600)?;
			Ok(())
		},
	},
	Setting {
		name: "bosh_max_hold",
		default: "1",
		doc: "BOSH requests held at once per session (a client's larger hold is lowered to this); one more and the oldest is answered at once",
		apply: |c, v| {
			c.limits.bosh_max_hold = num(v, 0, 2)?;
			Ok(())
		},
	},
	Setting {
		name: "bosh_inactivity",
		default: "60",
		doc: "seconds a BOSH session may go without a request held; then it ends (a stream-managed session waits to be resumed)",
		apply: |c, v| {
			c.limits.bosh_inactivity = secs(v, 1, 3600)?;
			Ok(())
		},
	},
];

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_default_applies() {
		let mut c = Config::new(PathBuf::from("/tmp"));
		for s in SETTINGS {
			c.set(s.name, s.default).unwrap_or_else(|e| panic!("{e}"));
		}
		assert_eq!(c.domain, "");
		assert!(!c.configured());
		assert_eq!(c.http_port, Some(5280));
		assert!(!c.mdns);
		assert_eq!(c.limits.max_stanza_bytes, 262_144);
		assert_eq!((c.limits.reset_expiry_hours, c.limits.max_reset_tokens, c.limits.max_invite_uses), (24, 100, 100));
		assert_eq!(c.c2s_port, Some(5222));
		c.set("c2s_tls_port", "off").unwrap();
		assert_eq!(c.c2s_tls_port, None);
		assert_eq!(c.listen.len(), 2);
	}

	#[test]
	fn bad_values_are_refused_with_a_reason() {
		let mut c = Config::new(PathBuf::from("/tmp"));
		assert!(c.set("c2s_port", "70000").unwrap_err().contains("between"));
		assert!(c.set("domain", "bad domain").is_err());
		assert!(c.set("nope", "1").unwrap_err().contains("unknown setting"));
		assert!(c.set("auth_retries_per_connection", "9").is_err());
		assert!(c.set("reset_expiry_hours", "0").unwrap_err().contains("between"));
		assert!(c.set("max_reset_tokens", "0").unwrap_err().contains("between"));
		c.set("domain", "Example.ORG").unwrap();
		assert_eq!(c.domain, "example.org");
	}

	#[test]
	fn contact_addresses_are_kinds_of_xep_0157_with_uris() {
		let mut c = Config::new(PathBuf::from("/tmp"));
		c.set("contact_addresses", "admin=xmpp:boss@office.lan, abuse=mailto:it@office.example,admin=https://office.example/it").unwrap();
		assert_eq!(
			c.contact_addresses,
			[
				("admin-addresses", "xmpp:boss@office.lan".to_owned()),
				("abuse-addresses", "mailto:it@office.example".to_owned()),
				("admin-addresses", "https://office.example/it".to_owned())
			]
		);
		assert!(c.set("contact_addresses", "boss=xmpp:a@b").unwrap_err().contains("not a kind"));
		assert!(c.set("contact_addresses", "admin=a@b").unwrap_err().contains("not a URI"));
		assert!(c.set("contact_addresses", "admin").unwrap_err().contains("kind=URI"));
		c.set("contact_addresses", "").unwrap();
		assert!(c.contact_addresses.is_empty());
	}

	#[test]
	fn backup_settings() {
		let mut c = Config::new(PathBuf::from("/var/lib/xerra"));
		assert_eq!(c.backup_time, Some((3, 30)));
		assert_eq!(c.backup_keep, 7);
		assert_eq!(c.backups(), PathBuf::from("/var/lib/xerra/backups"));
		c.set("backup_dir", "/media/xerra-backup").unwrap();
		assert_eq!(c.backups(), PathBuf::from("/media/xerra-backup"));
		c.set("backup_time", "off").unwrap();
		assert_eq!(c.backup_time, None);
		c.set("backup_time", "7:05").unwrap();
		assert_eq!(c.backup_time, Some((7, 5)));
		c.set("backup_time", "23:59").unwrap();
		for bad in ["24:00", "12:60", "12", "12:5", "ab:cd", "-1:30", "12:30:00", "", "+1:30"] {
			assert!(c.set("backup_time", bad).unwrap_err().contains("backup_time"), "{bad}");
		}
		assert_eq!(c.backup_time, Some((23, 59)), "a refused value changes nothing");
		assert!(c.set("backup_keep", "0").is_err());
		c.set("backup_keep", "2").unwrap();
		assert_eq!(c.backup_keep, 2);
	}

	#[test]
	fn statistics_and_metrics_allow() {
		let mut c = Config::new(PathBuf::from("/tmp"));
		assert!(c.statistics);
		assert!(c.metrics_allow.is_empty(), "loopback only by default");
		c.set("statistics", "off").unwrap();
		assert!(!c.statistics);
		c.set("metrics_allow", "10.0.0.0/8, fd00::/8").unwrap();
		assert_eq!(c.metrics_allow.len(), 2);
		assert!(c.metrics_allow[0].contains("10.9.8.7".parse().unwrap()));
		assert!(c.set("metrics_allow", "10.0.0.0/40").unwrap_err().contains("metrics_allow"));
		assert!(c.set("statistics", "maybe").is_err());
	}
}
