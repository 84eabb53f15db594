//! XEP-0133 Service Administration over XEP-0050 ad-hoc commands: the admin
//! engine's third face, for accounts with the admin role in their XMPP
//! client (Gajim, Psi...). Every command runs `admin::Engine` as
//! `Actor::Admin`, so the checks and errors are the CLI's and the web
//! console's; an account without the role gets `forbidden`.
//!
//! A command with a form answers the first `execute` with the form
//! (status `executing`) and runs on the submitted form (`complete` or
//! `execute` with `<x type='submit'/>`). The form carries everything, so no
//! session state is kept between the steps: nothing to bound or expire.
//!
//! Commands wait on storage and key derivation, so the connection answers
//! them itself, in order ([`is_admin_command`], [`execute`]), like XEP-0077.

use super::{Cx, Feature};
use crate::admin::{Actor, AdminError, Command, Engine, Reply};
use crate::server::Server;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::form::{Builder, Form};
use crate::xmpp::jid::FullJid;
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza, StanzaType};

pub const FEATURE: Feature = Feature { name: "adhoc-admin", spec: "XEP-0133 1.3 over XEP-0050 1.3", disco: &[], account: &[], iq: &[] };

/// XEP-0133's node prefix, and its FORM_TYPE.
pub const ADMIN: &str = "http://jabber.org/protocol/admin";

/// The commands offered: node name after `#`, and the name shown.
const COMMANDS: &[(&str, &str)] = &[
	("add-user", "Add a user"),
	("delete-user", "Delete users"),
	("disable-user", "Disable (lock) users"),
	("reenable-user", "Re-enable (unlock) users"),
	("change-user-password", "Change a user's password"),
	("get-registered-users-num", "Number of registered users"),
	("get-online-users-num", "Number of online users"),
	("get-online-users-list", "List of online users"),
	("announce", "Send an announcement to online users"),
	("set-motd", "Set the message of the day"),
	("edit-motd", "Edit the message of the day"),
	("delete-motd", "Delete the message of the day"),
];

/// Whether `iq` is a XEP-0133 command for this server: the connection
/// answers it with [`execute`].
pub fn is_admin_command(iq: &Stanza, jid: &FullJid) -> bool {
	iq.ty == StanzaType::Iq(IqType::Set)
		&& iq.payload().is_some_and(|c| c.is("command", ns::COMMANDS) && c.attr("node").is_some_and(|n| command_name(n).is_some()))
		&& iq.to.as_ref().is_none_or(|to| to.node().is_none() && to.resource().is_none() && to.domain() == jid.domain())
}

fn command_name(node: &str) -> Option<&'static str> {
	let name = node.strip_prefix(ADMIN)?.strip_prefix('#')?;
	COMMANDS.iter().find(|(n, _)| *n == name).map(|(n, _)| *n)
}

/// The admin commands in disco#items of the commands node (XEP-0050 §2.2):
/// listed for admins only.
pub fn command_items(cx: &Cx) -> Vec<Element> {
	let admin = !cx.is_remote() && cx.server.store.snapshot().and_then(|s| s.is_admin(cx.user())).unwrap_or(false);
	if !admin {
		return Vec::new();
	}
	COMMANDS
		.iter()
		.map(|(node, name)| {
			Element::new("item", ns::DISCO_ITEMS)
				.with_attr("jid", cx.domain())
				.with_attr("node", format!("{ADMIN}#{node}"))
				.with_attr("name", *name)
		})
		.collect()
}

/// Answers a XEP-0133 command from `jid`'s session.
pub async fn execute(server: &Server, jid: &FullJid, iq: &Stanza) -> Element {
	match answer(server, jid, iq).await {
		Ok(command) => iq.iq_result().with_child(command),
		Err(e) => iq.error_reply(&e),
	}
}

/// The admin engine's error as a stanza error, with its text.
fn stanza_error(e: &AdminError) -> StanzaError {
	StanzaError::with_text(e.condition(), e.to_string())
}

async fn answer(server: &Server, jid: &FullJid, iq: &Stanza) -> Result<Element, StanzaError> {
	let c = iq.payload().ok_or(Condition::BadRequest)?;
	let node = c.attr("node").unwrap_or_default();
	let name = command_name(node).ok_or(Condition::ItemNotFound)?;
	let user = jid.node().unwrap_or_default();
	let actor = Actor::Admin(user.to_owned());
	let engine = Engine::running(server);
	// Non-admins learn nothing, not even the forms.
	let admin = server.store.snapshot().and_then(|s| s.is_admin(user)).map_err(|_| Condition::InternalServerError)?;
	if !admin {
		return Err(StanzaError::with_text(Condition::Forbidden, "only admins may run this command"));
	}
	let sessionid = c.attr("sessionid").map(str::to_owned).unwrap_or_else(|| {
		let mut b = [0u8; 8];
		server.random(&mut b);
		b.iter().map(|b| format!("{b:02x}")).collect()
	});
	let reply = |status: &str| {
		Element::new("command", ns::COMMANDS).with_attr("node", node).with_attr("sessionid", sessionid.as_str()).with_attr("status", status)
	};
	if c.attr("action") == Some("cancel") {
		return Ok(reply("canceled"));
	}
	let submitted = c.child("x", ns::DATA_FORMS).filter(|x| x.attr("type") == Some("submit")).map(Form::parse);
	let run = |cmd: Command| async { engine.run(&actor, cmd).await.map_err(|e| stanza_error(&e)) };
	// Commands without a form complete at once.
	match name {
		"get-registered-users-num" => {
			let Reply::Status(s) = run(Command::Status).await? else { return Err(Condition::InternalServerError.into()) };
			let form = Builder::new("result", ADMIN)
				.field("registeredusersnum", "text-single", Some("The number of registered users"), &[&s.accounts.to_string()])
				.build();
			return Ok(reply("completed").with_child(form));
		}
		"get-online-users-num" => {
			let Reply::Status(s) = run(Command::Status).await? else { return Err(Condition::InternalServerError.into()) };
			let online = s.running.map_or(0, |r| r.users_online);
			let form = Builder::new("result", ADMIN)
				.field("onlineusersnum", "text-single", Some("The number of online users"), &[&online.to_string()])
				.build();
			return Ok(reply("completed").with_child(form));
		}
		"delete-motd" => {
			run(Command::MotdSet { text: None }).await?;
			return Ok(completed(reply("completed"), "The message of the day is deleted."));
		}
		_ => {}
	}
	let Some(form) = submitted else {
		// The first step: the form to fill (XEP-0050 §3.4).
		let motd = match name {
			"edit-motd" => match run(Command::MotdGet).await? {
				Reply::Text(t) => t,
				_ => String::new(),
			},
			_ => String::new(),
		};
		let actions =
			Element::new("actions", ns::COMMANDS).with_attr("execute", "complete").with_child(Element::new("complete", ns::COMMANDS));
		return Ok(reply("executing").with_child(actions).with_child(form_for(name, &motd)));
	};
	if form.form_type.as_deref().is_some_and(|t| t != ADMIN) {
		return Err(StanzaError::with_text(Condition::BadRequest, format!("the form's FORM_TYPE is not {ADMIN}")));
	}
	let domain = &server.config.domain;
	let text = |var: &str| form.fields.iter().find(|(v, _)| v == var).map(|(_, vals)| vals.join("\n")).unwrap_or_default();
	let required = |var: &str| {
		let v = text(var);
		if v.trim().is_empty() { Err(StanzaError::with_text(Condition::BadRequest, format!("{var} is required"))) } else { Ok(v) }
	};
	let note = match name {
		"add-user" => {
			let name = local_user(&required("accountjid")?, domain)?;
			let password = required("password")?;
			if form.value("password-verify").is_some_and(|v| v != password) {
				return Err(StanzaError::with_text(Condition::BadRequest, "the passwords differ"));
			}
			done(run(Command::UserAdd { name, password, admin: false }).await?, domain)
		}
		"delete-user" | "disable-user" | "reenable-user" => {
			let jids = form.fields.iter().find(|(v, _)| v == "accountjids").map(|(_, vals)| vals.clone()).unwrap_or_default();
			if jids.is_empty() {
				return Err(StanzaError::with_text(Condition::BadRequest, "accountjids is required"));
			}
			let mut notes = Vec::new();
			for jid in jids {
				let name = local_user(&jid, domain)?;
				let cmd = match command_name(node) {
					Some("delete-user") => Command::UserDel { name },
					Some("disable-user") => Command::UserLock { name, locked: true },
					_ => Command::UserLock { name, locked: false },
				};
				notes.push(done(run(cmd).await?, domain));
			}
			notes.join("\n")
		}
		"change-user-password" => {
			let name = local_user(&required("accountjid")?, domain)?;
			done(run(Command::UserPasswd { name, password: required("password")? }).await?, domain)
		}
		"get-online-users-list" => {
			let max = form.value("max_items").and_then(|m| m.parse::<usize>().ok()).unwrap_or(usize::MAX);
			let Reply::Users(rows) = run(Command::UserList).await? else { return Err(Condition::InternalServerError.into()) };
			let jids: Vec<String> = rows.iter().filter(|r| r.online > 0).take(max).map(|r| format!("{}@{domain}", r.name)).collect();
			let refs: Vec<&str> = jids.iter().map(String::as_str).collect();
			let result =
				Builder::new("result", ADMIN).field("onlineuserjids", "jid-multi", Some("The list of all online users"), &refs).build();
			return Ok(reply("completed").with_child(result));
		}
		"announce" => done(run(Command::Broadcast { text: required("announcement")?, everyone: false }).await?, domain),
		"set-motd" | "edit-motd" => done(run(Command::MotdSet { text: Some(required("motd")?) }).await?, domain),
		_ => return Err(Condition::ItemNotFound.into()),
	};
	Ok(completed(reply("completed"), &note))
}

/// A completed command with an info note (XEP-0050 §3.4).
fn completed(command: Element, note: &str) -> Element {
	command.with_child(Element::new("note", ns::COMMANDS).with_attr("type", "info").with_text(note))
}

/// What a reply says, as the CLI says it.
fn done(reply: Reply, domain: &str) -> String {
	match reply {
		Reply::Done(t) | Reply::Text(t) => t.trim_end().to_owned(),
		Reply::Created { jid, .. } => format!("created {jid}"),
		_ => format!("done on {domain}"),
	}
}

/// The localpart of an address on this server.
fn local_user(jid: &str, domain: &str) -> Result<String, StanzaError> {
	let jid = crate::xmpp::jid::Jid::parse(jid.trim()).map_err(|_| StanzaError::with_text(Condition::JidMalformed, "not an address"))?;
	match jid.node() {
		Some(node) if jid.domain() == domain && jid.resource().is_none() => Ok(node.to_owned()),
		_ => Err(StanzaError::with_text(Condition::NotAcceptable, format!("only accounts of {domain} (user@{domain})"))),
	}
}

/// A form field; `required` ones a client must fill (XEP-0004 §3.2).
fn field(var: &str, ty: &str, label: &str, values: &[&str]) -> Element {
	let mut f = Element::new("field", ns::DATA_FORMS).with_attr("var", var).with_attr("type", ty).with_attr("label", label);
	for v in values {
		f.push(Element::new("value", ns::DATA_FORMS).with_text(*v));
	}
	if ty != "list-single" {
		f.push(Element::new("required", ns::DATA_FORMS));
	}
	f
}

/// The form of a command's first step (XEP-0133 §4).
fn form_for(name: &str, motd: &str) -> Element {
	let fields = match name {
		"add-user" => vec![
			field("accountjid", "jid-single", "The Jabber ID for the account to be added", &[]),
			field("password", "text-private", "The password for this account", &[]),
			field("password-verify", "text-private", "Retype password", &[]),
		],
		"delete-user" => vec![field("accountjids", "jid-multi", "The Jabber ID(s) to delete", &[])],
		"disable-user" => vec![field("accountjids", "jid-multi", "The Jabber ID(s) to disable", &[])],
		"reenable-user" => vec![field("accountjids", "jid-multi", "The Jabber ID(s) to re-enable", &[])],
		"change-user-password" => vec![
			field("accountjid", "jid-single", "The Jabber ID for this account", &[]),
			field("password", "text-private", "The password for this account", &[]),
		],
		"get-online-users-list" => {
			let mut f = field("max_items", "list-single", "Maximum number of items to report", &["100"]);
			for o in ["25", "50", "75", "100", "150", "200", "none"] {
				f.push(
					Element::new("option", ns::DATA_FORMS)
						.with_attr("label", o)
						.with_child(Element::new("value", ns::DATA_FORMS).with_text(o)),
				);
			}
			vec![f]
		}
		"announce" => vec![field("announcement", "text-multi", "Announcement", &[])],
		_ => vec![field("motd", "text-multi", "Message of the day", &motd.lines().collect::<Vec<_>>())],
	};
	let mut x = Builder::new("form", ADMIN).build();
	for f in fields {
		x.push(f);
	}
	x
}
