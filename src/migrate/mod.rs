//! Moving accounts between servers: XEP-0227 (Portable Import/Export)
//! files and the plain model every reader produces (see `model`).

mod export;
mod file;
mod import;
pub mod lua;
pub mod model;
mod pie;
pub mod prosody;

use std::io::Write;
use std::path::Path;

pub use export::{account_data, host_data};
pub use import::{ImportLimits, check_limits, check_xml, import_accounts, import_host, no_keys};
pub use model::{
	AccountData, ArchivedMessage, Department, HostData, ImportReport, PepItemData, PepNodeData, PrivateXml, RoomData, RosterItem, Skipped,
};
pub use pie::{PIE, PIE_MAM, SCRAM, XERRA};

use crate::config::Config;
use crate::store::Store;

/// XInclude nesting followed (server-data -> host file -> user file).
const MAX_INCLUDE_DEPTH: usize = 2;

/// What an export wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportSummary {
	pub accounts: usize,
	pub rooms: usize,
	pub departments: usize,
}

/// What an export holds.
#[derive(Debug, Clone, Copy)]
pub struct Export<'a> {
	/// One account, or all.
	pub user: Option<&'a str>,
	/// The rooms and departments (Xerra's extension, at host level, which
	/// some importers refuse: ejabberd 23.01 stops at any element there
	/// that is not a `<user/>`).
	pub host_data: bool,
	/// SCRAM values as ejabberd 23.01's `import_piefxis` reads them (see `pie::user_xml`).
	pub ejabberd: bool,
}

/// Writes a XEP-0227 document of one consistent snapshot: every account
/// (or only one), then the rooms and departments in Xerra's extension if
/// asked. Blocking: call it off the executor.
pub fn export(store: &Store, domain: &str, what: Export<'_>, out: &mut dyn Write) -> Result<ExportSummary, String> {
	let user = what.user;
	if domain.is_empty() {
		return Err("this server has no domain yet (set it up first)".into());
	}
	let snap = store.snapshot().map_err(|e| e.to_string())?;
	let io = |e: std::io::Error| format!("writing: {e}");
	let names = match user {
		Some(u) => vec![u.to_owned()],
		None => snap.account_names().map_err(|e| e.to_string())?,
	};
	let mut sum = ExportSummary::default();
	write!(out, "<?xml version='1.0' encoding='UTF-8'?>\n<server-data xmlns='{PIE}'>\n<host jid='").map_err(io)?;
	out.write_all(crate::xmpp::element::escape_attr(domain).as_bytes()).map_err(io)?;
	out.write_all(b"'>\n").map_err(io)?;
	for name in names {
		let Some(a) = account_data(&snap, &name).map_err(|e| e.to_string())? else {
			return Err(format!("there is no account {name}"));
		};
		let xml = pie::user_xml(&a, domain, what.ejabberd).map_err(|e| format!("account {name}: {e}"))?;
		out.write_all(xml.as_bytes()).and_then(|()| out.write_all(b"\n")).map_err(io)?;
		sum.accounts += 1;
	}
	if what.host_data {
		let host = host_data(&snap).map_err(|e| e.to_string())?;
		let rooms = pie::rooms_xml(&host.rooms)?;
		out.write_all(rooms.as_bytes()).and_then(|()| out.write_all(b"\n")).map_err(io)?;
		out.write_all(pie::departments_xml(&host.departments).as_bytes()).and_then(|()| out.write_all(b"\n")).map_err(io)?;
		(sum.rooms, sum.departments) = (host.rooms.len(), host.departments.len());
	}
	out.write_all(b"</host>\n</server-data>\n").map_err(io)?;
	Ok(sum)
}

/// One account as a XEP-0227 document in memory (the console's "Download
/// my data"); `None` if there is no such account.
pub fn export_account(store: &Store, domain: &str, user: &str) -> Result<Option<Vec<u8>>, String> {
	let snap = store.snapshot().map_err(|e| e.to_string())?;
	if snap.account(user).map_err(|e| e.to_string())?.is_none() {
		return Ok(None);
	}
	drop(snap);
	let mut out = Vec::new();
	export(store, domain, Export { user: Some(user), host_data: false, ejabberd: false }, &mut out)?;
	Ok(Some(out))
}

/// Imports a XEP-0227 file (following relative XIncludes), one account
/// at a time. Whatever goes wrong is in the report: an account that cannot
/// be read or stored is skipped whole; a file that breaks off ends the
/// import there (what was before it stays imported).
pub fn import_file(store: &Store, config: &Config, path: &Path) -> ImportReport {
	let mut cx = Cx { store, config, limits: ImportLimits::from_config(config), report: ImportReport::default(), host: None };
	if let Err(why) = cx.read(path, 0) {
		cx.report.skipped.push(Skipped { name: String::new(), why });
	}
	cx.report
}

/// Imports a Prosody 0.12 data directory (see `prosody`): every account of
/// this server's domain, one transaction each, then the persistent rooms
/// of its MUC subdomains. `Err` only when the directory has no such host.
pub fn import_prosody(store: &Store, config: &Config, dir: &Path) -> Result<ImportReport, String> {
	if config.domain.is_empty() {
		return Err("this server has no domain yet (set it up first, with the domain the Prosody server had)".into());
	}
	let limits = ImportLimits::from_config(config);
	let d = prosody::Dir::new(dir, config.limits.import_max_account_bytes);
	let (accounts, host, skipped) = prosody::read_dir(&d, &config.domain)?;
	let mut report = import_accounts(store, &limits, accounts);
	report.skipped.extend(skipped);
	import_host(store, &limits, host, &mut report);
	Ok(report)
}

struct Cx<'a> {
	store: &'a Store,
	config: &'a Config,
	limits: ImportLimits,
	report: ImportReport,
	/// The `<host/>` being read.
	host: Option<String>,
}

impl Cx<'_> {
	fn read(&mut self, path: &Path, depth: usize) -> Result<(), String> {
		let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
		let mut r = file::PieReader::new(std::io::BufReader::new(f), self.config.limits.import_max_account_bytes);
		let dir = path.parent().unwrap_or(Path::new("."));
		while let Some(item) = r.next_item().map_err(|e| format!("{}: {e}; nothing after this point was imported", path.display()))? {
			match item {
				file::Item::Host(jid) => self.host = Some(jid),
				file::Item::TooBig(name) => self.report.skipped.push(Skipped {
					name: name.unwrap_or_default(),
					why: format!("larger than import_max_account_bytes ({})", self.config.limits.import_max_account_bytes),
				}),
				file::Item::Element(el, mut archives) => self.element(el, &mut archives, dir, depth)?,
			}
		}
		Ok(())
	}

	fn element(&mut self, el: crate::xmpp::element::Element, archives: &mut pie::Archives, dir: &Path, depth: usize) -> Result<(), String> {
		let host = self.host.clone().unwrap_or_else(|| self.config.domain.clone());
		let foreign = host != self.config.domain;
		match pie::classify(el) {
			pie::HostChild::User(u) => {
				let name = u.attr("name").unwrap_or_default().to_owned();
				if foreign {
					let why = format!("its host {host} is not this server's domain ({})", self.config.domain);
					self.report.skipped.push(Skipped { name, why });
					return Ok(());
				}
				let one = pie::user_from(&u, &host, archives).map_err(|why| Skipped { name, why });
				drop(u);
				self.report.merge(import_accounts(self.store, &self.limits, [one]));
			}
			pie::HostChild::Rooms(r) if !foreign => match pie::rooms_from(&r, archives) {
				Ok(rooms) => import_host(self.store, &self.limits, HostData { rooms, departments: Vec::new() }, &mut self.report),
				Err(why) => self.report.skipped.push(Skipped { name: "rooms".into(), why }),
			},
			pie::HostChild::Departments(d) if !foreign => {
				let departments = pie::departments_from(&d);
				import_host(self.store, &self.limits, HostData { rooms: Vec::new(), departments }, &mut self.report);
			}
			pie::HostChild::Include(href) => {
				// XEP-0227 §5: relative URIs only; never out of the file's directory.
				let p = Path::new(&href);
				if depth >= MAX_INCLUDE_DEPTH || p.is_absolute() || p.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
					return Err(format!(
						"an include this importer does not follow: {href:?} (relative paths below the file's directory only, {MAX_INCLUDE_DEPTH} levels)"
					));
				}
				let saved = self.host.clone();
				self.read(&dir.join(p), depth + 1)?;
				self.host = saved;
			}
			_ => {}
		}
		Ok(())
	}
}

impl ImportReport {
	/// Adds another report's findings to this one.
	pub fn merge(&mut self, other: ImportReport) {
		self.imported.extend(other.imported);
		self.rooms.extend(other.rooms);
		self.departments.extend(other.departments);
		self.skipped.extend(other.skipped);
		self.notes.extend(other.notes);
	}

	/// The report as lines for a terminal.
	pub fn text(&self) -> String {
		let mut s =
			format!("imported {} accounts, {} rooms, {} departments\n", self.imported.len(), self.rooms.len(), self.departments.len());
		for k in &self.skipped {
			let name = if k.name.is_empty() { "(file)" } else { k.name.as_str() };
			s.push_str(&format!("skipped {name}: {}\n", k.why));
		}
		for n in &self.notes {
			s.push_str(&format!("note: {n}\n"));
		}
		s
	}
}
