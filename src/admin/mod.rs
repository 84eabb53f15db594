//! The admin engine: one set of commands (users, departments, rooms,
//! invitations, settings, status) behind every face — the command line and
//! its control socket, the web console, XEP-0133 from an XMPP client — with
//! the same checks and the same errors. A face builds an [`Engine`] (with the
//! running server when there is one), says who acts ([`Actor`]) and gets a
//! typed [`Reply`] or [`AdminError`]; `text` renders both for the CLI.
//! Passwords travel only inside a [`Command`] and are never logged.

mod backup;
mod components;
mod error;
mod groups;
mod invites;
pub mod notices;
mod reply;
mod rooms;
mod settings;
pub mod text;
mod users;

pub use backup::describe as describe_backup;
pub use error::AdminError;
pub use invites::{InviteSpec, welcome};
pub use reply::*;
pub use users::{delete_user, derive_off_thread, import_users, new_account, upgrade_account_roles};

use crate::config::Config;
use crate::features::Cx;
use crate::server::Server;
use crate::store::Store;
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
	/// Locks (`locked`) or unlocks an account.
	UserLock {
		name: String,
		locked: bool,
	},
	/// A one-time password reset link for an account.
	UserReset {
		name: String,
	},
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
	/// Renames a department (in its members' rosters too).
	GroupRename {
		group: String,
		to: String,
	},
	/// Deletes a department; its members stay, without it.
	GroupDel {
		group: String,
	},
	/// An invitation (XEP-0401) that makes accounts: see [`InviteSpec`].
	InviteAdd(InviteSpec),
	InviteList,
	/// Withdraws an invitation by its token.
	InviteRevoke {
		token: String,
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
	/// Makes a room persistent (`true`) or temporary.
	RoomPersist {
		name: String,
		persistent: bool,
	},
	/// A message from the server to everyone online, or (`everyone`) to
	/// every account, stored for those offline.
	Broadcast {
		text: String,
		everyone: bool,
	},
	/// Sets (`Some`) or deletes the message of the day, shown to each new session.
	MotdSet {
		text: Option<String>,
	},
	/// The message of the day (`Reply::Text`, empty if none).
	MotdGet,
	/// First-boot setup from the console (the web page has its own route).
	SetupApply(crate::setup::Answers),
	/// The first-boot banner, empty when the box is set up.
	SetupStatus,
	/// First-boot restore from the console: a backup `file` on the box and
	/// its key or passphrase (`secret`), instead of the setup questions.
	SetupRestore {
		file: String,
		secret: String,
	},
	/// Writes a backup to `dest` (an absolute file or directory path, written
	/// by the server process), encrypted with `passphrase` or, without one,
	/// to the stored recovery key (`backup_recipient`). The box's console only.
	BackupCreate {
		dest: String,
		passphrase: Option<String>,
	},
}

/// Who runs a command: every face says, and the engine checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
	/// The box's own command line (root, or whoever may open the data
	/// directory and its 0600 control socket): may do everything.
	Root,
	/// An account with the admin role (its localpart), from the web console
	/// or an XMPP client; checked against the stored role at every command.
	Admin(String),
}

/// What a command runs against: the database, the settings, and the running
/// server when there is one (so that deleting a user also ends its
/// sessions, and roster changes reach online members).
#[derive(Clone, Copy)]
pub struct Engine<'a> {
	pub store: &'a Store,
	pub config: &'a Config,
	pub server: Option<&'a Server>,
}

impl<'a> Engine<'a> {
	/// The engine of a running server (what the web console and XEP-0133 use).
	pub fn running(server: &'a Server) -> Engine<'a> {
		Engine { store: &server.store, config: &server.config, server: Some(server) }
	}

	/// Runs `cmd` for `actor`.
	pub async fn run(&self, actor: &Actor, cmd: Command) -> Result<Reply, AdminError> {
		self.check(actor, &cmd)?;
		let Engine { store, config, server } = *self;
		match cmd {
			Command::UserAdd { name, password, admin } => self.user_add(&name, &password, admin).await,
			Command::UserAdmin { name, admin } => self.user_admin(&name, admin).await,
			Command::UserPasswd { name, password } => self.user_passwd(&name, &password).await,
			Command::UserDel { name } => {
				let name = user_name(&name)?;
				delete_user(store, config, server, &name).await.map(Reply::Done)
			}
			Command::UserList => self.user_list(),
			Command::UserLock { name, locked } => self.user_lock(&name, locked).await,
			Command::UserReset { name } => self.user_reset(&name).await,
			Command::ConfigSet { name, value } => self.config_set(&name, &value).await,
			Command::ConfigUnset { name } => self.config_unset(&name).await,
			Command::ConfigList => self.config_list(),
			Command::Status => self.status().await,
			Command::GroupAdd { group } => self.group_add(&group).await,
			Command::GroupAddMember { group, user } => self.group_change(&group, &user, true).await,
			Command::GroupDelMember { group, user } => self.group_change(&group, &user, false).await,
			Command::GroupList => self.group_list(),
			Command::GroupRename { group, to } => self.group_rename(&group, &to).await,
			Command::GroupDel { group } => self.group_del(&group).await,
			Command::InviteAdd(spec) => self.invite_add(spec).await,
			Command::InviteList => self.invite_list(),
			Command::InviteRevoke { token } => self.invite_revoke(&token).await,
			Command::ComponentAdd { domain } => self.component_add(&domain).await,
			Command::ComponentDel { domain } => self.component_del(&domain).await,
			Command::ComponentList => self.component_list(),
			Command::RoomList => self.room_list(),
			Command::RoomDestroy { name, reason } => self.room_destroy(&name, reason.as_deref()).await,
			Command::RoomPersist { name, persistent } => self.room_persist(&name, persistent).await,
			Command::Broadcast { text, everyone } => self.broadcast(&text, everyone).await,
			Command::MotdSet { text } => self.motd_set(text.as_deref()).await,
			Command::MotdGet => self.motd_get(),
			Command::SetupApply(answers) => {
				// No server runs: the console applies the setup to the database itself.
				let plan = crate::setup::apply(store, config, &answers).await.map_err(|e| AdminError::Failed(e.to_string()))?;
				let ca = crate::net::ca::Ca::ensure(&config.data_dir.join("tls")).map_err(|e| AdminError::Failed(e.to_string()))?;
				Ok(Reply::Text(crate::setup::summary(&plan, &ca.fingerprint())))
			}
			Command::SetupStatus => Ok(Reply::Text(String::new())),
			// Only the waiting wizard of a running server restores (`control`); a stopped box: `xerra backup restore`.
			Command::SetupRestore { .. } => {
				Err(AdminError::Failed("no server waits for setup here: use `xerra backup restore FILE`".into()))
			}
			Command::BackupCreate { dest, passphrase } => self.backup_create(&dest, passphrase).await,
		}
	}

	/// Runs `cmd` and renders the outcome as the command line shows it.
	pub async fn run_text(&self, actor: &Actor, cmd: Command) -> Result<String, String> {
		match self.run(actor, cmd).await {
			Ok(r) => Ok(text::reply(&r, self.config)),
			Err(e) => Err(e.to_string()),
		}
	}

	/// The same checks for every face: an admin account must still be one,
	/// may not do what only the box's console does, and may not lock itself out.
	fn check(&self, actor: &Actor, cmd: &Command) -> Result<(), AdminError> {
		let Actor::Admin(me) = actor else { return Ok(()) };
		if !self.store.snapshot()?.is_admin(me)? {
			return Err(AdminError::Forbidden("only admins may do this".into()));
		}
		let own = |name: &str| prep_localpart(name).is_ok_and(|n| n == *me);
		match cmd {
			// A backup names a path on the box: the console's own command line only.
			Command::SetupApply(_) | Command::SetupStatus | Command::SetupRestore { .. } | Command::BackupCreate { .. } => {
				Err(AdminError::Forbidden("only the box's console may do this".into()))
			}
			Command::UserDel { name } | Command::UserAdmin { name, admin: false } | Command::UserLock { name, locked: true }
				if own(name) =>
			{
				Err(AdminError::Forbidden("an admin may not remove their own account or role".into()))
			}
			_ => Ok(()),
		}
	}

	/// `user@domain`.
	pub fn jid(&self, user: &str) -> String {
		format!("{user}@{}", self.config.domain)
	}

	/// A page of the box's HTTPS port (the console's), for links to hand over.
	pub fn console_url(&self, path: &str) -> String {
		let port = self.server.and_then(|s| s.upload_port.get()).or(self.config.upload_port).filter(|p| *p != 443);
		format!("https://{}{}/{path}", self.config.domain, port.map(|p| format!(":{p}")).unwrap_or_default())
	}

	fn require_setup(&self) -> Result<(), AdminError> {
		if self.config.configured() { Ok(()) } else { Err(AdminError::NotSetUp) }
	}

	/// Delivers what a storage job produced, in the name of `user` (roster
	/// pushes and presence do not depend on whose context delivers them).
	fn deliver_as(&self, user: &str, outs: Vec<crate::features::Out>) {
		deliver_as(self.server, self.config, user, outs);
	}
}

/// A user name as typed (`Alice`) made a localpart (`alice`).
pub fn user_name(name: &str) -> Result<String, AdminError> {
	prep_localpart(name).map_err(|e| AdminError::Invalid(format!("invalid user name: {e}")))
}

/// (`user` empty: the server's own address.)
pub(crate) fn deliver_as(server: Option<&Server>, config: &Config, user: &str, outs: Vec<crate::features::Out>) {
	let Some(server) = server else { return };
	let at = if user.is_empty() { String::new() } else { format!("{user}@") };
	if let Ok(jid) = crate::xmpp::jid::FullJid::parse(&format!("{at}{}/admin", config.domain)) {
		let mut cx = Cx::new(server, &jid, 0);
		for o in outs {
			crate::router::deliver(o, &mut cx);
		}
	}
}

/// A random token (invitations, component secrets, reset links).
pub(crate) fn random_token() -> String {
	let rng = ring::rand::SystemRandom::new();
	crate::features::invites::new_token(|b| ring::rand::SecureRandom::fill(&rng, b).expect("system random number generator failed"))
}

impl Command {
	/// Fields for the control socket: the verb, then its arguments.
	pub fn to_fields(&self) -> Vec<String> {
		let fields: Vec<&str> = match self {
			Command::UserAdd { name, password, admin: false } => vec!["user-add", name, password],
			Command::UserAdd { name, password, admin: true } => vec!["user-add", name, password, "admin"],
			Command::UserAdmin { name, admin } => vec!["user-admin", name, if *admin { "on" } else { "off" }],
			Command::UserPasswd { name, password } => vec!["user-passwd", name, password],
			Command::UserDel { name } => vec!["user-del", name],
			Command::UserList => vec!["user-list"],
			Command::UserLock { name, locked } => vec![if *locked { "user-lock" } else { "user-unlock" }, name],
			Command::UserReset { name } => vec!["user-reset", name],
			Command::ConfigSet { name, value } => vec!["config-set", name, value],
			Command::ConfigUnset { name } => vec!["config-unset", name],
			Command::ConfigList => vec!["config-list"],
			Command::Status => vec!["status"],
			Command::SetupApply(a) => vec!["setup-apply", &a.domain, &a.admin, &a.password, &a.password2, &a.people],
			Command::SetupStatus => vec!["setup-status"],
			Command::SetupRestore { file, secret } => vec!["setup-restore", file, secret],
			Command::GroupAdd { group } => vec!["group-add", group],
			Command::GroupAddMember { group, user } => vec!["group-add-member", group, user],
			Command::GroupDelMember { group, user } => vec!["group-del-member", group, user],
			Command::GroupList => vec!["group-list"],
			Command::GroupRename { group, to } => vec!["group-rename", group, to],
			Command::GroupDel { group } => vec!["group-del", group],
			Command::ComponentAdd { domain } => vec!["component-add", domain],
			Command::ComponentDel { domain } => vec!["component-del", domain],
			Command::ComponentList => vec!["component-list"],
			Command::RoomList => vec!["room-list"],
			Command::Broadcast { text, everyone } => vec!["broadcast", text, if *everyone { "all" } else { "online" }],
			Command::MotdSet { text: Some(t) } => vec!["motd-set", t],
			Command::MotdSet { text: None } => vec!["motd-del"],
			Command::MotdGet => vec!["motd-get"],
			Command::RoomPersist { name, persistent } => vec!["room-persist", name, if *persistent { "on" } else { "off" }],
			Command::RoomDestroy { name, reason } => match reason {
				Some(r) => vec!["room-destroy", name, r],
				None => vec!["room-destroy", name],
			},
			Command::InviteAdd(i) => {
				let (uses, days) = (i.uses.to_string(), i.days.map(|d| d.to_string()).unwrap_or_default());
				let admin = if i.admin { "admin" } else { "" };
				let fields = ["invite-add", i.contact.as_deref().unwrap_or(""), &uses, &days, i.group.as_deref().unwrap_or(""), admin];
				return fields.iter().map(|f| (*f).to_owned()).collect();
			}
			Command::InviteList => vec!["invite-list"],
			Command::InviteRevoke { token } => vec!["invite-revoke", token],
			Command::BackupCreate { dest, passphrase: None } => vec!["backup-create", dest],
			Command::BackupCreate { dest, passphrase: Some(p) } => vec!["backup-create", dest, p],
		};
		fields.into_iter().map(str::to_owned).collect()
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
			("user-lock", 2) => Command::UserLock { name: s(1)?, locked: true },
			("user-unlock", 2) => Command::UserLock { name: s(1)?, locked: false },
			("user-reset", 2) => Command::UserReset { name: s(1)? },
			("config-set", 3) => Command::ConfigSet { name: s(1)?, value: s(2)? },
			("config-unset", 2) => Command::ConfigUnset { name: s(1)? },
			("config-list", 1) => Command::ConfigList,
			("status", 1) => Command::Status,
			("setup-apply", 6) => {
				Command::SetupApply(crate::setup::Answers { domain: s(1)?, admin: s(2)?, password: s(3)?, password2: s(4)?, people: s(5)? })
			}
			("setup-status", 1) => Command::SetupStatus,
			("setup-restore", 3) => Command::SetupRestore { file: s(1)?, secret: s(2)? },
			("group-add", 2) => Command::GroupAdd { group: s(1)? },
			("invite-add", 6) => {
				let opt = |i: usize| Some(f[i].clone()).filter(|v| !v.is_empty());
				Command::InviteAdd(InviteSpec {
					contact: opt(1),
					uses: f[2].parse().ok()?,
					days: opt(3).map(|d| d.parse()).transpose().ok()?,
					group: opt(4),
					admin: f[5] == "admin",
				})
			}
			("invite-list", 1) => Command::InviteList,
			("invite-revoke", 2) => Command::InviteRevoke { token: s(1)? },
			("backup-create", 2) => Command::BackupCreate { dest: s(1)?, passphrase: None },
			("backup-create", 3) => Command::BackupCreate { dest: s(1)?, passphrase: s(2) },
			("group-add-member", 3) => Command::GroupAddMember { group: s(1)?, user: s(2)? },
			("group-del-member", 3) => Command::GroupDelMember { group: s(1)?, user: s(2)? },
			("group-list", 1) => Command::GroupList,
			("group-rename", 3) => Command::GroupRename { group: s(1)?, to: s(2)? },
			("group-del", 2) => Command::GroupDel { group: s(1)? },
			("component-add", 2) => Command::ComponentAdd { domain: s(1)? },
			("component-del", 2) => Command::ComponentDel { domain: s(1)? },
			("component-list", 1) => Command::ComponentList,
			("room-list", 1) => Command::RoomList,
			("broadcast", 3) => Command::Broadcast { text: s(1)?, everyone: f[2] == "all" },
			("motd-set", 2) => Command::MotdSet { text: s(1) },
			("motd-del", 1) => Command::MotdSet { text: None },
			("motd-get", 1) => Command::MotdGet,
			("room-persist", 3) => Command::RoomPersist { name: s(1)?, persistent: f[2] == "on" },
			("room-destroy", 2) => Command::RoomDestroy { name: s(1)?, reason: None },
			("room-destroy", 3) => Command::RoomDestroy { name: s(1)?, reason: Some(s(2)?) },
			_ => return None,
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::store::test_support::{temp_store, test_account};
	use futures_lite::future::block_on;

	fn engine_config() -> Config {
		let mut c = Config::new(Default::default());
		c.set("domain", "office.lan").unwrap();
		c.set("scram_iterations", "4096").unwrap();
		c
	}

	#[test]
	fn every_face_gets_the_same_checks() {
		let t = temp_store();
		let config = engine_config();
		let e = Engine { store: &t.store, config: &config, server: None };
		t.store.write_blocking(|tx| Ok(tx.create_account("boss", &test_account())? && tx.set_admin("boss", true)?)).unwrap();
		t.store.write_blocking(|tx| tx.create_account("bob", &test_account())).unwrap();
		let boss = Actor::Admin("boss".into());
		// An account without the role may do nothing.
		let r = block_on(e.run(&Actor::Admin("bob".into()), Command::UserList));
		assert!(matches!(r, Err(AdminError::Forbidden(_))), "{r:?}");
		// An admin may, but not lock themself out, nor run the wizard.
		let Ok(Reply::Users(rows)) = block_on(e.run(&boss, Command::UserList)) else { panic!() };
		assert_eq!(rows.iter().map(|r| (r.name.as_str(), r.admin)).collect::<Vec<_>>(), [("bob", false), ("boss", true)]);
		let r = block_on(e.run(&boss, Command::UserDel { name: "Boss".into() }));
		assert!(matches!(r, Err(AdminError::Forbidden(_))), "{r:?}");
		let r = block_on(e.run(&boss, Command::UserAdmin { name: "boss".into(), admin: false }));
		assert!(matches!(r, Err(AdminError::Forbidden(_))), "{r:?}");
		assert!(matches!(block_on(e.run(&boss, Command::SetupStatus)), Err(AdminError::Forbidden(_))));
		// Typed errors.
		let r = block_on(e.run(&boss, Command::UserAdd { name: "bob".into(), password: "pw".into(), admin: false }));
		assert!(matches!(&r, Err(AdminError::Exists(j)) if j == "bob@office.lan"), "{r:?}");
		let r = block_on(e.run(&Actor::Root, Command::UserPasswd { name: "carol".into(), password: "pw".into() }));
		assert!(matches!(&r, Err(AdminError::NoSuchUser(j)) if j == "carol@office.lan"), "{r:?}");
		let r = block_on(e.run(&Actor::Root, Command::UserAdd { name: "a b".into(), password: "pw".into(), admin: false }));
		assert!(matches!(r, Err(AdminError::Invalid(_))), "{r:?}");
	}

	#[test]
	fn a_reset_token_sets_a_new_password_once() {
		let t = temp_store();
		let config = engine_config();
		let e = Engine { store: &t.store, config: &config, server: None };
		t.store.write_blocking(|tx| tx.create_account("alice", &test_account())).unwrap();
		let (token, expires) = block_on(e.reset_token_create("Alice")).unwrap();
		assert!(expires > crate::features::invites::now_secs() + 23 * 3600);
		assert_eq!(e.reset_token_check(&token).unwrap(), "alice@office.lan");
		// A bad password leaves the token good.
		assert!(matches!(block_on(e.reset_token_redeem(&token, "")), Err(AdminError::Invalid(_))));
		assert_eq!(block_on(e.reset_token_redeem(&token, "new secret")).unwrap(), "alice@office.lan");
		let keys = t.store.snapshot().unwrap().account("alice").unwrap().unwrap().sha256;
		assert!(keys.verify_password(crate::proto::sasl::scram::ScramHash::Sha256, "new secret"));
		assert!(matches!(block_on(e.reset_token_redeem(&token, "again")), Err(AdminError::NotFound(_))));
		assert!(matches!(e.reset_token_check(&token), Err(AdminError::NotFound(_))));
		assert!(matches!(block_on(e.reset_token_create("nobody")), Err(AdminError::NoSuchUser(_))));
	}

	#[test]
	fn reset_tokens_are_bounded_by_max_reset_tokens() {
		let t = temp_store();
		let mut config = engine_config();
		config.set("max_reset_tokens", "1").unwrap();
		let e = Engine { store: &t.store, config: &config, server: None };
		t.store
			.write_blocking(|tx| Ok(tx.create_account("alice", &test_account())? && tx.create_account("bob", &test_account())?))
			.unwrap();
		block_on(e.reset_token_create("alice")).unwrap();
		let r = block_on(e.reset_token_create("bob"));
		assert!(matches!(&r, Err(e @ AdminError::Limit(_)) if e.condition() == crate::xmpp::error::Condition::ResourceConstraint), "{r:?}");
		// Alice's new link replaces her old one.
		block_on(e.reset_token_create("alice")).unwrap();
	}

	#[test]
	fn an_invitation_redeemed_on_the_web_makes_an_account_in_its_department() {
		let t = temp_store();
		let config = engine_config();
		let e = Engine { store: &t.store, config: &config, server: None };
		t.store.write_blocking(|tx| tx.create_account("bob", &test_account())).unwrap();
		block_on(e.run(&Actor::Root, Command::GroupAddMember { group: "Sales".into(), user: "bob".into() })).unwrap();
		let spec = InviteSpec { uses: 1, group: Some("Sales".into()), admin: true, ..InviteSpec::default() };
		let Ok(Reply::Invite(made)) = block_on(e.run(&Actor::Root, Command::InviteAdd(spec))) else { panic!() };
		assert_eq!(e.invite_check(&made.token).unwrap().group.as_deref(), Some("Sales"));
		// A taken name keeps the invitation good.
		let r = block_on(e.invite_redeem(&made.token, "bob", "pw"));
		assert!(matches!(&r, Err(AdminError::Exists(j)) if j == "bob@office.lan"), "{r:?}");
		assert_eq!(block_on(e.invite_redeem(&made.token, "Carol", "carol's words")).unwrap(), "carol@office.lan");
		let s = t.store.snapshot().unwrap();
		assert!(s.is_admin("carol").unwrap());
		assert!(s.account("carol").unwrap().unwrap().sha256.verify_password(crate::proto::sasl::scram::ScramHash::Sha256, "carol's words"));
		assert_eq!(crate::groups::list(&s).unwrap()["Sales"], ["bob", "carol"]);
		assert!(s.roster_entry("bob", "carol@office.lan").unwrap().is_some(), "colleagues are contacts");
		assert!(matches!(block_on(e.invite_redeem(&made.token, "dave", "pw")), Err(AdminError::NotFound(_))));
		assert!(matches!(e.invite_check(&made.token), Err(AdminError::NotFound(_))));
	}

	#[test]
	fn the_people_list_has_what_the_console_shows() {
		let t = temp_store();
		let config = engine_config();
		let e = Engine { store: &t.store, config: &config, server: None };
		t.store
			.write_blocking(|tx| {
				tx.create_account("alice", &test_account())?;
				tx.create_account("bob", &test_account())?;
				tx.put_vcard("alice", &crate::groups::named_vcard("Alice <b>Liddell</b>"))?;
				tx.set_last_activity("alice", 1_700_000_000, None)?;
				tx.set_locked("bob", true)?;
				let quota = crate::store::OfflineQuota { messages: 10, bytes: 1000 };
				tx.push_offline("bob", b"<message/>", quota).map(|_| ())
			})
			.unwrap();
		let Ok(Reply::Users(rows)) = block_on(e.run(&Actor::Root, Command::UserList)) else { panic!() };
		let alice = UserRow {
			name: "alice".into(),
			display_name: Some("Alice <b>Liddell</b>".into()),
			last_seen: Some(1_700_000_000),
			..UserRow::default()
		};
		assert_eq!(rows[0], alice);
		assert!(rows[1].locked && rows[1].storage_bytes >= 10 && rows[1].display_name.is_none(), "{:?}", rows[1]);
		assert_eq!(text::reply(&Reply::Users(rows), &config), "alice@office.lan\nbob@office.lan (locked)\n");
	}

	#[test]
	fn settings_come_with_their_meaning_and_whether_a_restart_is_needed() {
		let t = temp_store();
		let config = engine_config();
		let e = Engine { store: &t.store, config: &config, server: None };
		block_on(e.run(&Actor::Root, Command::ConfigSet { name: "max_invite_uses".into(), value: "5".into() })).unwrap();
		let r = block_on(e.run(&Actor::Root, Command::ConfigSet { name: "max_invite_uses".into(), value: "0".into() }));
		assert!(matches!(r, Err(AdminError::Invalid(_))), "validated as xerra config set does");
		let Ok(Reply::Settings(rows)) = block_on(e.run(&Actor::Root, Command::ConfigList)) else { panic!() };
		assert_eq!(rows.len(), crate::config::settings().count());
		let row = rows.iter().find(|r| r.name == "max_invite_uses").unwrap();
		assert!(row.stored && row.value == "5" && row.default == "100" && row.restart && !row.doc.is_empty(), "{row:?}");
		assert!(rows.iter().filter(|r| r.name != "max_invite_uses").all(|r| !r.stored));
	}

	#[test]
	fn the_console_login_is_for_admins_with_their_password() {
		let t = temp_store();
		let config = engine_config();
		let e = Engine { store: &t.store, config: &config, server: None };
		block_on(e.run(&Actor::Root, Command::UserAdd { name: "boss".into(), password: "boss pw".into(), admin: true })).unwrap();
		block_on(e.run(&Actor::Root, Command::UserAdd { name: "bob".into(), password: "bob pw".into(), admin: false })).unwrap();
		assert_eq!(block_on(e.admin_login("Boss@office.lan", "boss pw")).unwrap(), "boss");
		assert_eq!(block_on(e.admin_login("boss", "boss pw")).unwrap(), "boss");
		for (who, pw) in [("boss", "wrong"), ("bob", "bob pw"), ("nobody", "x"), ("boss@elsewhere.org", "boss pw"), ("", "")] {
			assert!(matches!(block_on(e.admin_login(who, pw)), Err(AdminError::Forbidden(_))), "{who}");
		}
		t.store.write_blocking(|tx| tx.set_locked("boss", true)).unwrap();
		let r = block_on(e.admin_login("boss", "boss pw"));
		assert!(matches!(&r, Err(AdminError::Forbidden(w)) if w.contains("locked")), "{r:?}");
	}
}
