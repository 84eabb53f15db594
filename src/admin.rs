//! Administrative commands (users, settings, status), the same whether the
//! command line opens the database itself or asks the running server over
//! its control socket. Passwords travel only to [`Command::execute`] and
//! are never logged.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{self, Config};
use crate::features::Cx;
use crate::proto::sasl::derive_account;
use crate::server::Server;
use crate::store::{RosterEntry, Store};
use crate::xmpp::error::{StreamCondition, StreamError};
use crate::xmpp::jid::prep_localpart;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
	UserAdd {
		name: String,
		password: String,
		/// With the admin role.
		admin: bool,
	},
	/// Gives (`admin`) or takes the admin role.
	UserAdmin {
		name: String,
		admin: bool,
	},
	UserPasswd {
		name: String,
		password: String,
	},
	UserDel {
		name: String,
	},
	UserList,
	ConfigSet {
		name: String,
		value: String,
	},
	ConfigUnset {
		name: String,
	},
	ConfigList,
	Status,
	GroupAdd {
		group: String,
	},
	GroupAddMember {
		group: String,
		user: String,
	},
	GroupDelMember {
		group: String,
		user: String,
	},
	GroupList,
	/// A one-time invitation (XEP-0401): to register, or from `contact` (a
	/// user) to register and become their contact.
	InviteAdd {
		contact: Option<String>,
	},
	/// An external component (XEP-0114) for `domain`, with a new secret.
	ComponentAdd {
		domain: String,
	},
	ComponentDel {
		domain: String,
	},
	ComponentList,
	/// The rooms of `rooms.<domain>` (XEP-0045).
	RoomList,
	/// Destroys a room, telling its occupants `reason`; its history and
	/// archive go too.
	RoomDestroy {
		name: String,
		reason: Option<String>,
	},
	/// First-boot setup from the console (the web page has its own route).
	SetupApply(crate::setup::Answers),
	/// The first-boot banner, empty when the box is set up.
	SetupStatus,
}

impl Command {
	/// Fields for the control socket: the verb, then its arguments.
	pub fn to_fields(&self) -> Vec<&str> {
		match self {
			Command::UserAdd { name, password, admin: false } => vec!["user-add", name, password],
			Command::UserAdd { name, password, admin: true } => vec!["user-add", name, password, "admin"],
			Command::UserAdmin { name, admin } => vec!["user-admin", name, if *admin { "on" } else { "off" }],
			Command::UserPasswd { name, password } => vec!["user-passwd", name, password],
			Command::UserDel { name } => vec!["user-del", name],
			Command::UserList => vec!["user-list"],
			Command::ConfigSet { name, value } => vec!["config-set", name, value],
			Command::ConfigUnset { name } => vec!["config-unset", name],
			Command::ConfigList => vec!["config-list"],
			Command::Status => vec!["status"],
			Command::SetupApply(a) => vec!["setup-apply", &a.domain, &a.admin, &a.password, &a.password2, &a.people],
			Command::SetupStatus => vec!["setup-status"],
			Command::GroupAdd { group } => vec!["group-add", group],
			Command::GroupAddMember { group, user } => vec!["group-add-member", group, user],
			Command::GroupDelMember { group, user } => vec!["group-del-member", group, user],
			Command::GroupList => vec!["group-list"],
			Command::ComponentAdd { domain } => vec!["component-add", domain],
			Command::ComponentDel { domain } => vec!["component-del", domain],
			Command::ComponentList => vec!["component-list"],
			Command::RoomList => vec!["room-list"],
			Command::RoomDestroy { name, reason } => match reason {
				Some(r) => vec!["room-destroy", name, r],
				None => vec!["room-destroy", name],
			},
			Command::InviteAdd { contact } => match contact {
				Some(c) => vec!["invite-add", c],
				None => vec!["invite-add"],
			},
		}
	}

	pub fn from_fields(f: &[String]) -> Option<Command> {
		let s = |i: usize| f.get(i).cloned();
		Some(match (f.first()?.as_str(), f.len()) {
			("user-add", 3) => Command::UserAdd { name: s(1)?, password: s(2)?, admin: false },
			("user-add", 4) if f[3] == "admin" => Command::UserAdd { name: s(1)?, password: s(2)?, admin: true },
			("user-admin", 3) => Command::UserAdmin { name: s(1)?, admin: f[2] == "on" },
			("user-passwd", 3) => Command::UserPasswd { name: s(1)?, password: s(2)? },
			("user-del", 2) => Command::UserDel { name: s(1)? },
			("user-list", 1) => Command::UserList,
			("config-set", 3) => Command::ConfigSet { name: s(1)?, value: s(2)? },
			("config-unset", 2) => Command::ConfigUnset { name: s(1)? },
			("config-list", 1) => Command::ConfigList,
			("status", 1) => Command::Status,
			("setup-apply", 6) => {
				Command::SetupApply(crate::setup::Answers { domain: s(1)?, admin: s(2)?, password: s(3)?, password2: s(4)?, people: s(5)? })
			}
			("setup-status", 1) => Command::SetupStatus,
			("group-add", 2) => Command::GroupAdd { group: s(1)? },
			("invite-add", 1) => Command::InviteAdd { contact: None },
			("invite-add", 2) => Command::InviteAdd { contact: Some(s(1)?) },
			("group-add-member", 3) => Command::GroupAddMember { group: s(1)?, user: s(2)? },
			("group-del-member", 3) => Command::GroupDelMember { group: s(1)?, user: s(2)? },
			("group-list", 1) => Command::GroupList,
			("component-add", 2) => Command::ComponentAdd { domain: s(1)? },
			("component-del", 2) => Command::ComponentDel { domain: s(1)? },
			("component-list", 1) => Command::ComponentList,
			("room-list", 1) => Command::RoomList,
			("room-destroy", 2) => Command::RoomDestroy { name: s(1)?, reason: None },
			("room-destroy", 3) => Command::RoomDestroy { name: s(1)?, reason: Some(s(2)?) },
			_ => return None,
		})
	}

	/// Runs the command. `server` is the running server when there is one,
	/// so that deleting a user also ends its sessions and updates contacts.
	pub async fn execute(self, store: &Store, config: &Config, server: Option<&Server>) -> Result<String, String> {
		let fail = |e: crate::store::StoreError| e.to_string();
		match self {
			Command::UserAdd { name, password, admin } => {
				if !config.configured() {
					return Err("this box is not set up yet: run the setup wizard (`xerra setup`, or the web page), or `xerra config set domain DOMAIN` first".into());
				}
				let name = prep_localpart(&name).map_err(|e| format!("invalid user name: {e}"))?;
				let account = new_account(&password, config)?;
				let n = name.clone();
				let created = store.write(move |tx| Ok(tx.create_account(&n, &account)? && (!admin || tx.set_admin(&n, true)?)));
				match created.await.map_err(fail)? {
					true if admin => Ok(format!("created {name}@{}, an admin", config.domain)),
					true => Ok(format!("created {name}@{}", config.domain)),
					false => Err(format!("{name}@{} already exists", config.domain)),
				}
			}
			Command::UserAdmin { name, admin } => {
				let name = prep_localpart(&name).map_err(|e| format!("invalid user name: {e}"))?;
				let n = name.clone();
				match store.write(move |tx| tx.set_admin(&n, admin)).await.map_err(fail)? {
					true if admin => Ok(format!("{name}@{} is an admin", config.domain)),
					true => Ok(format!("{name}@{} is no admin", config.domain)),
					false => Err(format!("no user {name}@{}", config.domain)),
				}
			}
			Command::UserPasswd { name, password } => {
				let name = prep_localpart(&name).map_err(|e| format!("invalid user name: {e}"))?;
				let account = new_account(&password, config)?;
				let n = name.clone();
				match store.write(move |tx| tx.set_credentials(&n, &account)).await.map_err(fail)? {
					true => Ok(format!("password changed for {name}@{}", config.domain)),
					false => Err(format!("no user {name}@{}", config.domain)),
				}
			}
			Command::UserDel { name } => {
				let name = prep_localpart(&name).map_err(|e| format!("invalid user name: {e}"))?;
				delete_user(store, config, server, &name).await
			}
			Command::UserList => {
				let snap = store.snapshot().map_err(fail)?;
				let (names, admins) = (snap.account_names().map_err(fail)?, snap.admin_names().map_err(fail)?);
				let role = |n: &String| if admins.contains(n) { " (admin)" } else { "" };
				Ok(names.iter().map(|n| format!("{n}@{}{}\n", config.domain, role(n))).collect())
			}
			Command::ConfigSet { name, value } => {
				// Validate before storing, so a bad value never reaches the next start.
				let mut scratch = config.clone();
				scratch.set(&name, &value)?;
				let (n, v) = (name.clone(), value.clone());
				store.write(move |tx| tx.set_setting(&n, &v)).await.map_err(fail)?;
				let restart = if server.is_some() { " (takes effect at the next start)" } else { "" };
				Ok(format!("{name} = {value}{restart}"))
			}
			Command::ConfigUnset { name } => {
				config::setting(&name).ok_or_else(|| format!("unknown setting {name:?}"))?;
				let n = name.clone();
				store.write(move |tx| tx.unset_setting(&n)).await.map_err(fail)?;
				Ok(format!("{name} back to its default"))
			}
			Command::ConfigList => {
				let stored = store.snapshot().and_then(|s| s.settings()).map_err(fail)?;
				let mut out = String::new();
				for s in config::SETTINGS {
					let value = stored.iter().find(|(k, _)| k == s.name).map_or(s.default, |(_, v)| v.as_str());
					out.push_str(&format!("{} = {}\n    {} (default: {})\n", s.name, value, s.doc, s.default));
				}
				Ok(out)
			}
			Command::SetupApply(answers) => {
				// No server runs: the console applies the setup to the database itself.
				let plan = crate::setup::apply(store, config, &answers).await.map_err(|e| e.to_string())?;
				let ca = crate::net::ca::Ca::ensure(&config.data_dir.join("tls")).map_err(|e| e.to_string())?;
				Ok(crate::setup::summary(&plan, &ca.fingerprint()))
			}
			Command::SetupStatus => Ok(String::new()),
			Command::GroupAdd { group } => {
				let group = crate::groups::check_name(&group)?.to_owned();
				let g = group.clone();
				match store.write(move |tx| tx.add_group_member(&g, "")).await.map_err(fail)? {
					true => Ok(format!("created group {group}")),
					false => Err(format!("group {group} exists")),
				}
			}
			Command::GroupAddMember { group, user } => group_change(store, config, server, &group, &user, true).await,
			Command::GroupDelMember { group, user } => group_change(store, config, server, &group, &user, false).await,
			Command::GroupList => {
				let groups = store.snapshot().and_then(|s| crate::groups::list(&s)).map_err(fail)?;
				Ok(groups
					.iter()
					.map(|(g, members)| {
						let m: Vec<String> = members.iter().filter(|m| !m.is_empty()).map(|m| format!("{m}@{}", config.domain)).collect();
						format!("{g}: {}\n", m.join(", "))
					})
					.collect())
			}
			Command::InviteAdd { contact } => {
				if !config.configured() {
					return Err("this box is not set up yet".into());
				}
				let contact = match contact {
					Some(c) => {
						let c = prep_localpart(&c).map_err(|e| format!("invalid user name: {e}"))?;
						if store.snapshot().and_then(|s| s.account(&c)).map_err(fail)?.is_none() {
							return Err(format!("no user {c}@{}", config.domain));
						}
						Some(c)
					}
					None => None,
				};
				let rng = ring::rand::SystemRandom::new();
				let token = crate::features::invites::new_token(|b| {
					ring::rand::SecureRandom::fill(&rng, b).expect("system random number generator failed")
				});
				let days = u64::from(config.limits.invite_expiry_days);
				// From the console: the box's admin, whose invitations make accounts.
				let expires = crate::features::invites::now_secs() + days * 86_400;
				let invite = crate::store::Invite { inviter: contact.clone(), expires, registers: true };
				let t = token.clone();
				store.write(move |tx| tx.create_invite(&t, &invite)).await.map_err(fail)?;
				let uri = crate::features::invites::uri(&config.domain, &token, contact.as_deref(), true);
				let mode = match config.registration {
					crate::config::Registration::Off => " (registration is off: `xerra config set registration invite` to let it register)",
					_ => "",
				};
				Ok(format!("{uri}\nvalid for {days} days, once{mode}\n"))
			}
			Command::ComponentAdd { domain } => {
				let domain = component_domain(&domain, config)?;
				let rng = ring::rand::SystemRandom::new();
				let secret = crate::features::invites::new_token(|b| {
					ring::rand::SecureRandom::fill(&rng, b).expect("system random number generator failed")
				});
				let (d, sec) = (domain.clone(), secret.clone());
				let added = store.write(move |tx| tx.add_component(&d, &sec)).await.map_err(fail)?;
				if let (true, Some(s)) = (added, server) {
					s.remotes.borrow_mut().set_component(&domain, true);
				}
				match added {
					true => Ok(format!(
						"component {domain} added\nsecret: {secret}\nit connects to port {} on this box (127.0.0.1 or ::1)\n",
						config.component_port.map_or("(off: set component_port)".to_owned(), |p| p.to_string())
					)),
					false => Err(format!("component {domain} exists (delete it first for a new secret)")),
				}
			}
			Command::ComponentDel { domain } => {
				let domain = component_domain(&domain, config)?;
				let d = domain.clone();
				if !store.write(move |tx| tx.del_component(&d)).await.map_err(fail)? {
					return Err(format!("no component {domain}"));
				}
				if let Some(s) = server {
					let why = StreamError::with_text(StreamCondition::NotAuthorized, "the component was removed");
					let mut remotes = s.remotes.borrow_mut();
					remotes.set_component(&domain, false);
					remotes.close(&domain, why);
				}
				Ok(format!("component {domain} removed"))
			}
			Command::ComponentList => {
				let domains = store.snapshot().and_then(|s| s.component_domains()).map_err(fail)?;
				let connected = |d: &str| server.is_some_and(|s| s.remotes.borrow().is_connected(d));
				Ok(domains.iter().map(|d| format!("{d}{}\n", if connected(d) { " (connected)" } else { "" })).collect())
			}
			Command::RoomList => {
				let service = crate::features::muc::service_domain(&config.domain);
				let rooms = match server {
					Some(s) => crate::features::muc::rooms(s),
					// Stopped: the persistent rooms, as stored.
					None => store
						.snapshot()
						.and_then(|s| s.muc_rooms())
						.map_err(fail)?
						.into_iter()
						.map(|(name, r)| crate::features::muc::RoomInfo {
							name,
							title: r.config.title,
							persistent: true,
							occupants: 0,
							history: (0, 0),
						})
						.collect(),
				};
				let mut out = String::new();
				for r in rooms {
					let title = if r.title.is_empty() { String::new() } else { format!(" \"{}\"", r.title) };
					let kind = if r.persistent { "persistent" } else { "temporary" };
					out.push_str(&format!("{}@{service}{title}: {kind}, {} occupants", r.name, r.occupants));
					if server.is_some() {
						out.push_str(&format!(", history {} messages ({} bytes)", r.history.0, r.history.1));
					}
					out.push('\n');
				}
				Ok(out)
			}
			Command::RoomDestroy { name, reason } => {
				let service = crate::features::muc::service_domain(&config.domain);
				let bare = name.strip_suffix(&format!("@{service}")).unwrap_or(&name);
				let name = crate::xmpp::jid::prep_localpart(bare).map_err(|e| format!("invalid room name: {e}"))?;
				let found = match server {
					Some(s) => crate::features::muc::destroy(s, &name, reason.as_deref()).await.map_err(fail)?,
					None => {
						let n = name.clone();
						store
							.write(move |tx| {
								let exists = tx.muc_room_exists(&n)?;
								if exists {
									tx.delete_muc_room(&n)?;
								}
								Ok(exists)
							})
							.await
							.map_err(fail)?
					}
				};
				match found {
					true => Ok(format!("room {name}@{service} destroyed\n")),
					false => Err(format!("no room {name}@{service}")),
				}
			}
			Command::Status => {
				let accounts = store.snapshot().and_then(|s| s.account_count()).map_err(fail)?;
				let domain =
					if config.configured() { config.domain.as_str() } else { "(not set up yet: open the web page or run `xerra setup`)" };
				let mut out = format!("domain: {domain}\naccounts: {accounts}\ndata: {}\n", config.data_dir.display());
				out.push_str(&format!("database: {} bytes\n", Store::file_bytes(&config.data_dir)));
				out.push_str(&disk_lines(&store.disk(), config.limits.disk_free_warning_bytes));
				match server {
					Some(s) => {
						let sessions = s.sessions.borrow();
						out.push_str(&format!(
							"running: yes (pid {}, up {} s)\nconnections: {}\nsessions: {} ({} users online)\n",
							std::process::id(),
							s.started.elapsed().as_secs(),
							s.guard.borrow().connections(),
							sessions.count(),
							sessions.users_online()
						));
					}
					None => out.push_str("running: no\n"),
				}
				Ok(out)
			}
		}
	}
}

/// Accounts stored before roles existed get one, once, at the first start:
/// the local accounts that `contact_addresses` names as `admin` become
/// admins (the first-boot wizard put its admin there), every other account
/// none. On a box whose admin changed that setting, `xerra user admin NAME
/// on` gives the role.
pub fn upgrade_account_roles(store: &Store, config: &Config) -> Result<(), String> {
	let named = admins_in_contacts(config);
	let made = store.write_blocking(move |tx| tx.upgrade_account_roles(&named)).map_err(|e| e.to_string())?;
	for name in made {
		log::info!("{name}@{} is an admin (named in contact_addresses)", config.domain);
	}
	Ok(())
}

/// The local accounts `contact_addresses` names as `admin` (`xmpp:` URIs).
fn admins_in_contacts(config: &Config) -> Vec<String> {
	config
		.contact_addresses
		.iter()
		.filter(|(kind, _)| *kind == "admin-addresses")
		.filter_map(|(_, uri)| {
			let jid = crate::xmpp::jid::Jid::parse(uri.strip_prefix("xmpp:")?.split('?').next()?).ok()?;
			let local = jid.domain() == config.domain && jid.resource().is_none();
			jid.node().filter(|_| local).map(str::to_owned)
		})
		.collect()
}

/// `xerra status` on the data directory's disk: free space (flagged low
/// below `disk_free_warning_bytes`), and whether writes are being refused.
fn disk_lines(d: &crate::store::DiskStatus, warn_below: u64) -> String {
	use crate::store::mib;
	let mut out = match (d.free, d.total) {
		(Some(free), Some(total)) => {
			let low = if free < warn_below { format!(" (low: below disk_free_warning_bytes, {})", mib(warn_below)) } else { String::new() };
			format!("disk: {} free of {}{low}\n", mib(free), mib(total))
		}
		_ => "disk: free space unknown\n".to_owned(),
	};
	if let Some(why) = &d.failing {
		out.push_str(&format!("storage: writes refused ({why}); tried again by themselves\n"));
	}
	out
}

pub fn new_account(password: &str, config: &Config) -> Result<crate::store::Account, String> {
	if password.is_empty() {
		return Err("the password must not be empty".into());
	}
	let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
	let rng = ring::rand::SystemRandom::new();
	let mut random = |b: &mut [u8]| {
		// The OS random source failing is not something to work around.
		ring::rand::SecureRandom::fill(&rng, b).expect("system random number generator failed");
	};
	derive_account(password, config.scram_iterations, created, &mut random)
		.ok_or_else(|| "the password has characters that are not allowed".to_string())
}

/// Creates many accounts from `name:password` lines (empty lines and lines
/// starting with `#` are skipped). Keys are derived on every core first, then
/// all accounts are written in one transaction. Existing names are kept and
/// reported; any bad line stops the import before anything is written.
pub fn import_users(store: &Store, config: &Config, text: &str) -> Result<String, String> {
	let mut entries = Vec::new();
	for (n, line) in text.lines().enumerate() {
		let line = line.trim_end_matches('\r');
		if line.trim().is_empty() || line.starts_with('#') {
			continue;
		}
		let (name, password) = line.split_once(':').ok_or_else(|| format!("line {}: expected name:password", n + 1))?;
		let name = prep_localpart(name.trim()).map_err(|e| format!("line {}: invalid user name: {e}", n + 1))?;
		entries.push((n + 1, name, password.to_owned()));
	}
	let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
	let chunk = entries.len().div_ceil(workers).max(1);
	let derived: Vec<Result<(String, crate::store::Account), String>> = std::thread::scope(|scope| {
		let handles: Vec<_> = entries
			.chunks(chunk)
			.map(|part| {
				scope.spawn(move || {
					part.iter()
						.map(|(line, name, pw)| new_account(pw, config).map(|a| (name.clone(), a)).map_err(|e| format!("line {line}: {e}")))
						.collect::<Vec<_>>()
				})
			})
			.collect();
		handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
	});
	let accounts = derived.into_iter().collect::<Result<Vec<_>, _>>()?;
	let total = accounts.len();
	let existing = store
		.write_blocking(move |tx| {
			let mut existing = Vec::new();
			for (name, account) in &accounts {
				if !tx.create_account(name, account)? {
					existing.push(name.clone());
				}
			}
			Ok(existing)
		})
		.map_err(|e| e.to_string())?;
	let mut out = format!("created {} accounts on {}\n", total - existing.len(), config.domain);
	if !existing.is_empty() {
		out.push_str(&format!("already there, unchanged: {}\n", existing.join(", ")));
	}
	Ok(out)
}

/// Deletes the account, its roster and offline messages; takes it out of
/// local contacts' rosters (with pushes) and ends its sessions.
/// Puts `user` into `group` (or takes them out); the roster changes reach
/// online members at once.
async fn group_change(
	store: &Store,
	config: &Config,
	server: Option<&Server>,
	group: &str,
	user: &str,
	join: bool,
) -> Result<String, String> {
	if !config.configured() {
		return Err("this box is not set up yet".into());
	}
	let group = crate::groups::check_name(group)?.to_owned();
	let user = prep_localpart(user).map_err(|e| format!("invalid user name: {e}"))?;
	let (g, u, domain) = (group.clone(), user.clone(), config.domain.clone());
	let result = store
		.write(move |tx| {
			let mut outs = Vec::new();
			if !tx.account_exists(&u)? {
				return Ok(Err(format!("no user {u}@{domain}")));
			}
			let changed = if join {
				crate::groups::join(tx, &domain, &g, &u, &mut outs)?
			} else {
				crate::groups::leave(tx, &domain, &g, &u, &mut outs)?
			};
			Ok(Ok((changed, outs)))
		})
		.await
		.map_err(|e| e.to_string())?;
	let (changed, outs) = result?;
	deliver_as(server, config, &user, outs);
	let jid = format!("{user}@{}", config.domain);
	Ok(match (join, changed) {
		(true, true) => format!("{jid} joined {group}"),
		(true, false) => format!("{jid} was in {group} already"),
		(false, true) => format!("{jid} left {group}"),
		(false, false) => format!("{jid} was not in {group}"),
	})
}

/// Delivers what a storage job produced, in the name of `user` (roster
/// pushes and presence do not depend on whose context delivers them).
fn deliver_as(server: Option<&Server>, config: &Config, user: &str, outs: Vec<crate::features::Out>) {
	let Some(server) = server else { return };
	if let Ok(jid) = crate::xmpp::jid::FullJid::parse(&format!("{user}@{}/admin", config.domain)) {
		let mut cx = Cx::new(server, &jid, 0);
		for o in outs {
			crate::router::deliver(o, &mut cx);
		}
	}
}

/// Deletes an account with everything it had; its sessions end with
/// `not-authorized` and its contacts see it go.
pub(crate) async fn delete_user(store: &Store, config: &Config, server: Option<&Server>, name: &str) -> Result<String, String> {
	if let Some(server) = server {
		// End the sessions first, while the roster still says who must hear
		// that they are gone.
		let ids: Vec<u64> = server.sessions.borrow().of(name).iter().map(|s| s.id).collect();
		for id in ids {
			let removed = server.sessions.borrow_mut().remove(name, id);
			if let Some(session) = removed {
				session.close(StreamError::with_text(StreamCondition::NotAuthorized, "account deleted"));
				crate::features::presence::session_ended(server, session);
			}
		}
	}
	let user = name.to_owned();
	let domain = config.domain.clone();
	let deleted = store
		.write(move |tx| {
			if !tx.delete_account(&user)? {
				return Ok(None);
			}
			for (group, member) in tx.group_members()? {
				if member == user {
					tx.remove_group_member(&group, &member)?;
				}
			}
			let files = tx.delete_uploads_of(&user)?;
			let own_jid = format!("{user}@{domain}");
			let mut outs = Vec::new();
			for (contact, _) in tx.clear_roster(&user)? {
				let Some(contact_user) = contact.strip_suffix(&format!("@{domain}")) else { continue };
				if let Some(old) = tx.roster_entry(contact_user, &own_jid)? {
					crate::features::presence::save(tx, contact_user, &own_jid, &old, &RosterEntry::default(), &mut outs)?;
				}
			}
			Ok(Some((outs, files)))
		})
		.await
		.map_err(|e| e.to_string())?;
	let Some((pushes, files)) = deleted else {
		return Err(format!("no user {name}@{}", config.domain));
	};
	// Its files go with it: their links stop working at once.
	let uploads = crate::http::upload::files_dir(config);
	crate::http::upload::remove_files(files.iter().map(|id| uploads.join(id)).collect()).await;
	if let Some(s) = server {
		// The in-memory copies follow the stored data, so an account made
		// later with the same name starts clean.
		s.blocklists.borrow_mut().forget(name);
		s.mam_prefs.borrow_mut().forget(name);
		s.push.borrow_mut().forget(name);
		s.upload_slots.borrow_mut().forget(name);
	}
	deliver_as(server, config, name, pushes);
	Ok(format!("deleted {name}@{}", config.domain))
}

/// A component's domain: a valid domain that is not ours or our rooms'.
fn component_domain(domain: &str, config: &Config) -> Result<String, String> {
	let jid = crate::xmpp::jid::Jid::parse(domain).map_err(|e| format!("invalid domain: {e}"))?;
	if jid.node().is_some() || jid.resource().is_some() {
		return Err(format!("{domain:?} is not a domain"));
	}
	let d = jid.domain().to_owned();
	if d == config.domain || d == crate::features::muc::service_domain(&config.domain) {
		return Err(format!("{d} is served by Xerra itself"));
	}
	Ok(d)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::DiskStatus;

	#[test]
	fn admins_named_in_contact_addresses() {
		let mut c = Config::new(Default::default());
		c.set("domain", "office.lan").unwrap();
		c.set(
			"contact_addresses",
			"admin=xmpp:Boss@office.lan,support=xmpp:help@office.lan,admin=xmpp:it@elsewhere.org,admin=mailto:x@office.lan,admin=xmpp:office.lan,admin=xmpp:deputy@office.lan?message",
		)
		.unwrap();
		assert_eq!(admins_in_contacts(&c), ["boss", "deputy"]);
	}

	#[test]
	fn disk_lines_say_low_and_failing() {
		let d = DiskStatus { free: Some(3 << 20), total: Some(1 << 30), low: false, failing: None };
		assert_eq!(super::disk_lines(&d, 1 << 20), "disk: 3.0 MiB free of 1024.0 MiB\n");
		assert!(super::disk_lines(&d, 100 << 20).contains("(low: below disk_free_warning_bytes, 100.0 MiB)"));
		let d = DiskStatus { failing: Some("No space left on device".into()), ..d };
		assert!(super::disk_lines(&d, 0).contains("storage: writes refused (No space left on device)"));
		assert_eq!(super::disk_lines(&DiskStatus { free: None, total: None, low: false, failing: None }, 0), "disk: free space unknown\n");
	}
}
