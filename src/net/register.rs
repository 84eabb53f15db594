//! XEP-0077 in-band registration before authentication, with XEP-0445
//! pre-authentication: a client shows an invitation token (`<preauth/>`),
//! then registers a name and password, then logs in with SASL as usual.
//! `registration` decides who may: off, invite (the default: a token is
//! needed) or open. Attempts count against the per-address login throttle
//! (`auth_failures_per_ip` per `auth_failure_window`).
//!
//! After logging in, an account uses the same namespace to change its
//! password (§3.3) or to remove itself (§3.2), whatever `registration` says:
//! people get generated passwords from the first-boot wizard and are told
//! to change them in their app.

use std::net::IpAddr;
use std::time::Instant;

use crate::config::Registration;
use crate::features::{Cx, Out, invites};
use crate::server::Server;
use crate::store::Account;
use crate::store::StoreError;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::{FullJid, Jid, prep_localpart};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, Stanza, StanzaType};

/// Longest password taken (bytes).
const MAX_PASSWORD: usize = 1023;

/// An invitation token this connection showed (XEP-0445 `<preauth/>`) and
/// when: §4 judges its expiry at that moment only, so the registration
/// that follows is not refused because it ran out since.
#[derive(Debug)]
pub struct Preauth {
	token: String,
	shown: u64,
}

/// Answers one pre-authentication iq; `token` is this connection's
/// accepted invitation, if any.
pub async fn handle(server: &Server, ip: IpAddr, token: &mut Option<Preauth>, el: Element) -> Element {
	let Ok(iq) = Stanza::parse(el) else {
		return Element::new("iq", ns::CLIENT).with_attr("type", "error").with_child(StanzaError::new(Condition::BadRequest).to_element());
	};
	let mut reply = match answer(server, ip, token, &iq).await {
		Ok(ok) => ok,
		Err(e) => iq.error_reply(&e),
	};
	// Before authentication there are no addresses to swap.
	reply.remove_attr("to");
	reply.remove_attr("from");
	reply
}

async fn answer(server: &Server, ip: IpAddr, token: &mut Option<Preauth>, iq: &Stanza) -> Result<Element, StanzaError> {
	let payload = iq.payload().ok_or(Condition::BadRequest)?;
	let mode = server.config.registration;
	match (iq.ty, payload.name()) {
		(StanzaType::Iq(IqType::Set), "preauth") => {
			let t = payload.attr("token").unwrap_or_default();
			let shown = invites::now_secs();
			let good = server.store.snapshot().and_then(|s| s.invite(t, shown))?;
			match good {
				None => {
					throttle(server, ip)?;
					return Err(StanzaError::with_text(Condition::ItemNotFound, "this invitation is not valid (any more)"));
				}
				Some(i) if !i.registers => {
					return Err(StanzaError::with_text(Condition::NotAllowed, "this invitation adds a contact; it makes no account"));
				}
				Some(_) => {}
			}
			*token = Some(Preauth { token: t.to_owned(), shown });
			Ok(iq.iq_result())
		}
		(StanzaType::Iq(IqType::Get), "query") => {
			// The form is no secret: clients (slixmpp) ask for it before they
			// show their token; registering without one is refused below.
			let _ = mode;
			let q = Element::new("query", ns::REGISTER)
				.with_child(Element::new("instructions", ns::REGISTER).with_text("Choose a user name and a password."))
				.with_child(Element::new("username", ns::REGISTER))
				.with_child(Element::new("password", ns::REGISTER));
			Ok(iq.iq_result().with_child(q))
		}
		(StanzaType::Iq(IqType::Set), "query") => register(server, ip, token, iq, payload).await,
		_ => Err(StanzaError::new(Condition::ServiceUnavailable)),
	}
}

/// Counts an attempt; `policy-violation` once the address has too many.
fn throttle(server: &Server, ip: IpAddr) -> Result<(), StanzaError> {
	let l = &server.config.limits;
	let mut guard = server.guard.borrow_mut();
	let now = Instant::now();
	if !guard.login_allowed(ip, None, now, l) {
		return Err(StanzaError::with_text(Condition::PolicyViolation, "too many attempts; try again later"));
	}
	guard.login_failed(ip, None, now, l);
	Ok(())
}

async fn register(server: &Server, ip: IpAddr, token: &mut Option<Preauth>, iq: &Stanza, q: &Element) -> Result<Element, StanzaError> {
	let mode = server.config.registration;
	if q.child("remove", ns::REGISTER).is_some() {
		return Err(StanzaError::with_text(Condition::NotAllowed, "log in to remove an account"));
	}
	if mode == Registration::Off || (mode == Registration::Invite && token.is_none()) {
		return Err(StanzaError::with_text(Condition::NotAllowed, "registration needs an invitation"));
	}
	throttle(server, ip)?;
	let text = |name: &str| q.child(name, ns::REGISTER).map(Element::text).unwrap_or_default();
	let user = prep_localpart(text("username").trim())
		.map_err(|_| StanzaError::with_text(Condition::NotAcceptable, "that user name is not allowed"))?;
	let password = text("password");
	if password.is_empty() || password.len() > MAX_PASSWORD {
		return Err(StanzaError::with_text(Condition::NotAcceptable, "choose a password"));
	}
	let account = derive(&password, server).await?;
	let used = token.as_ref().map(|p| (p.token.clone(), p.shown));
	let (domain, name) = (server.config.domain.clone(), user.clone());
	let outcome = server
		.store
		.write(move |tx| -> Result<Result<Vec<Out>, StanzaError>, StoreError> {
			let invite = match &used {
				Some((t, shown)) => match tx.take_invite(t, *shown)? {
					Some(i) if i.registers => Some(i),
					Some(i) => {
						// Only admins' invitations make accounts (issue 11).
						tx.create_invite(t, &i)?;
						return Ok(Err(StanzaError::with_text(Condition::NotAllowed, "this invitation makes no account")));
					}
					None => return Ok(Err(StanzaError::with_text(Condition::NotAllowed, "this invitation is not valid (any more)"))),
				},
				None => None,
			};
			if !tx.create_account(&name, &account)? {
				// Taken: the invitation stays good for another name.
				if let (Some((t, _)), Some(i)) = (&used, &invite) {
					tx.create_invite(t, i)?;
				}
				return Ok(Err(StanzaError::with_text(Condition::Conflict, "that user name is taken")));
			}
			let mut outs = Vec::new();
			if let Some(invite) = &invite {
				crate::admin::welcome(tx, &domain, &name, invite, &mut outs)?;
			}
			Ok(Ok(outs))
		})
		.await?;
	let outs = outcome?;
	*token = None;
	log::info!("{ip}: registered {user}@{}", server.config.domain);
	// The inviter's roster (if online) hears of the new contact.
	if let Ok(Some(jid)) = Jid::from_parts(Some(&user), &server.config.domain, Some("register")).map(|j| j.try_into_full().ok()) {
		let jid: FullJid = jid;
		let mut cx = Cx::new(server, &jid, 0);
		for out in outs {
			crate::router::deliver(out, &mut cx);
		}
	}
	Ok(iq.iq_result())
}

/// SCRAM keys for a password, made on a thread of their own: PBKDF2 takes
/// milliseconds, too long for the executor.
async fn derive(password: &str, server: &Server) -> Result<Account, StanzaError> {
	let (password, config) = (password.to_owned(), server.config.clone());
	let (tx, rx) = async_channel::bounded(1);
	std::thread::spawn(move || {
		let _ = tx.send_blocking(crate::admin::new_account(&password, &config));
	});
	let made = rx.recv().await.map_err(|_| Condition::InternalServerError)?;
	made.map_err(|e| StanzaError::with_text(Condition::NotAcceptable, e))
}

/// Is this a logged-in account's own registration request (to nobody, its
/// server or its own bare JID)?
pub fn is_account_request(iq: &Stanza, jid: &FullJid) -> bool {
	matches!(iq.ty, StanzaType::Iq(IqType::Get | IqType::Set))
		&& iq.payload().is_some_and(|q| q.is("query", ns::REGISTER))
		&& iq.to.as_ref().is_none_or(|to| {
			to.resource().is_none() && (to.node().is_none() || to.to_bare() == jid.to_bare()) && to.domain() == jid.domain()
		})
}

/// Answers a logged-in account's XEP-0077 request: what it is registered as
/// (§3.1), a new password (§3.3), or its removal (§3.2: the answer, then the
/// stream ends with `not-authorized` as the account goes).
pub async fn account(server: &Server, jid: &FullJid, iq: &Stanza) -> Element {
	match account_answer(server, jid, iq).await {
		Ok(ok) => ok,
		Err(e) => iq.error_reply(&e),
	}
}

async fn account_answer(server: &Server, jid: &FullJid, iq: &Stanza) -> Result<Element, StanzaError> {
	let user = jid.node().unwrap_or_default().to_owned();
	let q = iq.payload().ok_or(Condition::BadRequest)?;
	if iq.ty == StanzaType::Iq(IqType::Get) {
		let answer = Element::new("query", ns::REGISTER)
			.with_child(Element::new("registered", ns::REGISTER))
			.with_child(Element::new("username", ns::REGISTER).with_text(user))
			.with_child(Element::new("password", ns::REGISTER));
		return Ok(iq.iq_result().with_child(answer));
	}
	if q.child("remove", ns::REGISTER).is_some() {
		log::info!("{jid}: removes its account");
		crate::admin::delete_user(&server.store, &server.config, Some(server), &user)
			.await
			.map_err(|e| StanzaError::with_text(e.condition(), e.to_string()))?;
		return Ok(iq.iq_result());
	}
	let text = |name: &str| q.child(name, ns::REGISTER).map(Element::text);
	let named = text("username").map(|u| prep_localpart(u.trim()));
	if named.is_some_and(|u| u.ok().as_deref() != Some(user.as_str())) {
		return Err(StanzaError::with_text(Condition::NotAllowed, "only your own password can be changed"));
	}
	let password = text("password").unwrap_or_default();
	if password.is_empty() || password.len() > MAX_PASSWORD {
		return Err(StanzaError::with_text(Condition::NotAcceptable, "choose a password"));
	}
	let account = derive(&password, server).await?;
	let changed = server.store.write(move |tx| tx.set_credentials(&user, &account)).await?;
	if !changed {
		return Err(StanzaError::new(Condition::ItemNotFound));
	}
	log::info!("{jid}: changed its password");
	Ok(iq.iq_result())
}
