//! XEP-0045 §10.2 room configuration form (muc#roomconfig) and the
//! extended room information of §6.4 (muc#roominfo).

use super::room::Config;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::form::{Builder, Form, boolean};
use crate::xmpp::ns;

fn b(v: bool) -> &'static str {
	if v { "1" } else { "0" }
}

/// The form an owner fills, with the room's current values.
pub fn form(c: &Config) -> Element {
	let max = c.max_users.to_string();
	Builder::new("form", ns::MUC_ROOMCONFIG)
		.field("muc#roomconfig_roomname", "text-single", Some("Name"), &[&c.title])
		.field("muc#roomconfig_roomdesc", "text-single", Some("Description"), &[&c.description])
		.field("muc#roomconfig_persistentroom", "boolean", Some("Keep the room when it is empty"), &[b(c.persistent)])
		.field("muc#roomconfig_publicroom", "boolean", Some("List the room in the directory"), &[b(!c.hidden)])
		.field("muc#roomconfig_membersonly", "boolean", Some("Members only"), &[b(c.members_only)])
		.field("muc#roomconfig_moderatedroom", "boolean", Some("Only participants with voice may speak"), &[b(c.moderated)])
		.field("muc#roomconfig_passwordprotectedroom", "boolean", Some("Needs a password"), &[b(c.password.is_some())])
		.field("muc#roomconfig_roomsecret", "text-private", Some("Password"), &[c.password.as_deref().unwrap_or("")])
		.list(
			"muc#roomconfig_whois",
			"Who may see real JIDs",
			if c.whois_anyone { "anyone" } else { "moderators" },
			&["moderators", "anyone"],
		)
		.field("muc#roomconfig_maxusers", "text-single", Some("Most occupants"), &[&max])
		.field("muc#roomconfig_allowinvites", "boolean", Some("Occupants may invite others"), &[b(c.allow_invites)])
		.field("muc#roomconfig_changesubject", "boolean", Some("Occupants may change the subject"), &[b(c.change_subject)])
		.build()
}

fn invalid(var: &str) -> StanzaError {
	StanzaError::with_text(Condition::NotAcceptable, format!("invalid value for {var}"))
}

/// Applies a submitted form to `c`; `max_users` is capped by `limit`.
pub fn apply(x: &Element, c: &Config, limit: u32) -> Result<Config, StanzaError> {
	let form = Form::parse(x);
	if form.form_type.as_deref().is_some_and(|t| t != ns::MUC_ROOMCONFIG) {
		return Err(StanzaError::with_text(Condition::BadRequest, "wrong FORM_TYPE"));
	}
	let mut n = c.clone();
	let mut wants_password = None;
	let mut secret = None;
	for (var, values) in &form.fields {
		let v = values.first().map(String::as_str).unwrap_or("");
		let flag = || boolean(v).ok_or_else(|| invalid(var));
		match var.as_str() {
			"muc#roomconfig_roomname" => n.title = v.to_owned(),
			"muc#roomconfig_roomdesc" => n.description = v.to_owned(),
			"muc#roomconfig_persistentroom" => n.persistent = flag()?,
			"muc#roomconfig_publicroom" => n.hidden = !flag()?,
			"muc#roomconfig_membersonly" => n.members_only = flag()?,
			"muc#roomconfig_moderatedroom" => n.moderated = flag()?,
			"muc#roomconfig_passwordprotectedroom" => wants_password = Some(flag()?),
			"muc#roomconfig_roomsecret" => secret = Some(v.to_owned()),
			"muc#roomconfig_whois" => {
				n.whois_anyone = match v {
					"anyone" => true,
					"moderators" => false,
					_ => return Err(invalid(var)),
				}
			}
			"muc#roomconfig_maxusers" => {
				n.max_users = match v {
					"" | "none" => limit,
					v => v.parse::<u32>().ok().filter(|m| *m > 0).ok_or_else(|| invalid(var))?.min(limit),
				}
			}
			"muc#roomconfig_allowinvites" => n.allow_invites = flag()?,
			"muc#roomconfig_changesubject" => n.change_subject = flag()?,
			_ => {}
		}
	}
	match (wants_password, secret) {
		(Some(false), _) => n.password = None,
		(_, Some(s)) if !s.is_empty() => n.password = Some(s),
		(Some(true), _) if n.password.is_none() => return Err(StanzaError::with_text(Condition::NotAcceptable, "a password is needed")),
		_ => {}
	}
	Ok(n)
}

/// disco#info features describing a room (XEP-0045 §6.4).
pub fn features(c: &Config) -> Vec<&'static str> {
	vec![
		ns::MUC,
		if c.persistent { "muc_persistent" } else { "muc_temporary" },
		if c.members_only { "muc_membersonly" } else { "muc_open" },
		if c.moderated { "muc_moderated" } else { "muc_unmoderated" },
		if c.hidden { "muc_hidden" } else { "muc_public" },
		if c.password.is_some() { "muc_passwordprotected" } else { "muc_unsecured" },
		if c.whois_anyone { "muc_nonanonymous" } else { "muc_semianonymous" },
		ns::MAM,
		ns::SID,
		ns::REGISTER,
		ns::MUC_SELF_PING,
		// Messages keep the id their sender gave them.
		ns::MUC_STABLE_ID,
		ns::OCCUPANT_ID,
		ns::PING,
		ns::VCARD,
	]
}

/// The muc#roominfo form of a room's disco#info.
pub fn info(c: &Config, occupants: usize, subject: Option<&str>, avatar_hashes: &[String]) -> Element {
	let n = occupants.to_string();
	let mut b = Builder::new("result", ns::MUC_ROOMINFO)
		.field("muc#roominfo_description", "text-single", None, &[&c.description])
		.field("muc#roominfo_occupants", "text-single", None, &[&n])
		.field("muc#roominfo_subject", "text-single", None, &[subject.unwrap_or("")]);
	if !avatar_hashes.is_empty() {
		// XEP-0486 §3.3.
		let hashes: Vec<&str> = avatar_hashes.iter().map(String::as_str).collect();
		b = b.field("muc#roominfo_avatarhash", "text-multi", None, &hashes);
	}
	b.build()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn submitted_form_changes_only_what_it_names() {
		let c = Config::new(200);
		let x = Builder::new("submit", ns::MUC_ROOMCONFIG)
			.field("muc#roomconfig_persistentroom", "boolean", None, &["1"])
			.field("muc#roomconfig_membersonly", "boolean", None, &["true"])
			.field("muc#roomconfig_roomsecret", "text-private", None, &["s3cret"])
			.field("muc#roomconfig_maxusers", "text-single", None, &["5000"])
			.build();
		let n = apply(&x, &c, 200).unwrap();
		assert!(n.persistent && n.members_only && !n.moderated);
		assert_eq!((n.password.as_deref(), n.max_users), (Some("s3cret"), 200));
		let bad = Builder::new("submit", ns::MUC_ROOMCONFIG).field("muc#roomconfig_whois", "list-single", None, &["everyone"]).build();
		assert!(apply(&bad, &c, 200).is_err());
	}
}
