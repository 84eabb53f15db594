//! Every setting and limit, named once, with its default, bounds and a line
//! of documentation. Values come from (later wins): the defaults here, the
//! settings stored in the database (`xerra config set`), and `--set name=value`
//! on the command line for one run.

use std::path::PathBuf;
use std::time::Duration;

mod accounts;
mod backups;
mod calls;
mod limits;
mod server;

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
		for s in settings() {
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
	settings().find(|s| s.name == name)
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

/// All settings by area, in the order `xerra config list` shows them.
static GROUPS: [&[Setting]; 5] = [server::SETTINGS, limits::SETTINGS, accounts::SETTINGS, backups::SETTINGS, calls::SETTINGS];

/// Every setting.
pub fn settings() -> impl Iterator<Item = &'static Setting> {
	GROUPS.iter().flat_map(|g| g.iter())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_default_applies() {
		let mut c = Config::new(PathBuf::from("/tmp"));
		for s in settings() {
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
