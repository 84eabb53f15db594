//! XEP-0313 Message Archive Management (urn:xmpp:mam:2) for one-to-one
//! chat, with XEP-0059 paging and XEP-0359 stanza ids. Every chat or normal
//! message with content that a local account sends or receives is archived
//! for it (as its preferences say) when the router passes it on; the
//! recipient's copy carries the archive id as `<stanza-id/>`. Queries run on
//! the storage writer, so they see every message acknowledged before them.
//!
//! Archive copies are records ([`Cx::record`]): a message delivered live is
//! not reported as failed when its copy could not be written.
//!
//! Limits: `max_archive_messages` and `max_archive_bytes` per account or
//! room (oldest dropped), `mam_retention_days` (older ones deleted daily),
//! `mam_max_page` and `mam_max_page_bytes` per answer.

use std::collections::HashMap;
use std::time::UNIX_EPOCH;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Cx, Deferred, Feature, IqRoute, Out, Target};
use crate::config::Limits;
use crate::store::{ArchiveQuota, MamDefault, MamPrefs, MamQuery};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::form::{Builder, Form};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;
use crate::xmpp::reader::{XmlLimits, parse_stored};
use crate::xmpp::stanza::{IqType, Stanza};

pub const FEATURE: Feature = Feature {
	name: "mam",
	spec: "XEP-0313 1.1 (mam:2), XEP-0059 1.0, XEP-0359 0.7",
	// Also on the server, where some clients look before they query their
	// own archive (Profanity; ejabberd announces it there too). Not
	// `#extended`: queries take no before-id, after-id or ids.
	disco: &[ns::MAM, ns::SID],
	account: &[ns::MAM, ns::SID],
	iq: &[
		IqRoute { ty: IqType::Set, ns: ns::MAM, name: "query", target: Target::Account, handler: query },
		IqRoute { ty: IqType::Get, ns: ns::MAM, name: "query", target: Target::Account, handler: fields },
		IqRoute { ty: IqType::Get, ns: ns::MAM, name: "prefs", target: Target::Account, handler: get_prefs },
		IqRoute { ty: IqType::Set, ns: ns::MAM, name: "prefs", target: Target::Account, handler: set_prefs },
	],
};

/// Results per page when the client does not say.
const DEFAULT_PAGE: usize = 50;

/// Every account's preferences, in memory (most have none: always).
#[derive(Debug, Default)]
pub struct Prefs {
	by_user: HashMap<String, MamPrefs>,
}

impl Prefs {
	/// A deleted account's preferences (stored ones go with the account).
	pub fn forget(&mut self, user: &str) {
		self.by_user.remove(user);
	}

	pub fn load(rows: Vec<(String, MamPrefs)>) -> Prefs {
		Prefs { by_user: rows.into_iter().collect() }
	}
}

fn micros_now() -> u64 {
	UNIX_EPOCH.elapsed().map_or(0, |d| d.as_micros() as u64)
}

fn stamp(micros: u64) -> String {
	let t = UNIX_EPOCH + std::time::Duration::from_micros(micros);
	super::time::stamp(t).unwrap_or_default()
}

/// XEP-0082 DateTime to microseconds.
pub fn parse_time(s: &str) -> Option<u64> {
	let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
	u64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

/// Is this one-to-one message archived? Chat or normal, and worth keeping.
fn archivable(el: &Element) -> bool {
	matches!(el.attr("type"), None | Some("chat" | "normal")) && worth_keeping(el)
}

/// What an archive keeps, one-to-one or a room's (and a room's join
/// history): not marked no-store or no-permanent-store (XEP-0334), and with
/// a body, an encrypted payload, a call invitation or its answer (XEP-0353
/// `<propose/>`, `<retract/>`, `<accept/>`, `<reject/>`, `<proceed/>`,
/// `<finish/>`: §3 wants them in the history so every device learns of a
/// call, a missed one too) or a `<store/>` hint (XEP-0334 §4.4), as Prosody
/// and ejabberd keep. Chat states and the like are not.
pub fn worth_keeping(el: &Element) -> bool {
	el.child("no-store", ns::HINTS).is_none()
		&& el.child("no-permanent-store", ns::HINTS).is_none()
		&& (el.child("body", ns::CLIENT).is_some()
			|| el.child("encrypted", ns::OMEMO).is_some()
			|| el.child("store", ns::HINTS).is_some()
			|| el.children().any(|c| matches!(c.ns(), ns::JINGLE_MESSAGE | ns::JINGLE_MESSAGE_1)))
}

/// Does `user` archive messages with `other` (XEP-0313 §7)?
fn archives(user: &str, other: &Jid, cx: &Cx) -> bool {
	let prefs = cx.server.mam_prefs.borrow();
	let bare = other.to_bare();
	let default = match prefs.by_user.get(user) {
		Some(p) => {
			let listed = |list: &[String]| list.iter().any(|j| j == bare.as_str() || j == other.as_str());
			if listed(&p.never) {
				return false;
			}
			if listed(&p.always) {
				return true;
			}
			p.default
		}
		None => cx.server.config.mam_default,
	};
	match default {
		MamDefault::Always => true,
		MamDefault::Never => false,
		MamDefault::Roster => {
			cx.server.store.snapshot().and_then(|s| s.roster_entry(user, bare.as_str())).is_ok_and(|e| e.is_some_and(|e| e.in_roster))
		}
	}
}

/// What one archive may keep.
pub fn quota(l: &Limits) -> ArchiveQuota {
	ArchiveQuota { messages: l.max_archive_messages, bytes: l.max_archive_bytes }
}

fn new_id(cx: &Cx) -> String {
	let mut b = [0u8; 12];
	cx.server.random(&mut b);
	base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b)
}

/// A client's message on its way to `to`: archives it for the sender and a
/// local recipient, and gives the recipient's copy its stanza-id. Ids a
/// client put in are removed first (XEP-0359 §4: only we vouch for ours).
pub fn archive(el: &mut Element, to: &Jid, cx: &mut Cx) {
	el.retain_children(|c| !c.is("stanza-id", ns::SID));
	if !archivable(el) {
		return;
	}
	let now = micros_now();
	let max = quota(&cx.server.config.limits);
	let sender = cx.user().to_owned();
	let recipient = cx.local_user(to).map(str::to_owned).filter(|u| crate::router::account_exists(cx, u).unwrap_or(false));
	if let Some(r) = &recipient
		&& archives(r, cx.jid.as_jid(), cx)
	{
		let id = new_id(cx);
		el.push(Element::new("stanza-id", ns::SID).with_attr("id", id.as_str()).with_attr("by", format!("{r}@{}", cx.domain())));
		let with = el.attr("from").unwrap_or(cx.jid.as_str()).to_owned();
		let (r, xml) = (r.clone(), el.to_xml(ns::CLIENT));
		cx.record(move |tx| tx.archive(&r, &id, now, &with, &xml, max).map(|_| Vec::new()));
	}
	// A note to oneself is archived once, as received.
	if !sender.is_empty() && recipient.as_deref() != Some(sender.as_str()) && archives(&sender, to, cx) {
		let id = new_id(cx);
		let (with, xml) = (to.as_str().to_owned(), el.to_xml(ns::CLIENT));
		cx.record(move |tx| tx.archive(&sender, &id, now, &with, &xml, max).map(|_| Vec::new()));
	}
}

fn bad(text: &str) -> StanzaError {
	StanzaError::with_text(Condition::BadRequest, text)
}

/// The filters and page a query asks for.
fn parse_query(q: &Element, max_page: usize, max_page_bytes: usize) -> Result<MamQuery, StanzaError> {
	let mut mq = MamQuery { max: DEFAULT_PAGE.min(max_page), max_bytes: Some(max_page_bytes), ..Default::default() };
	if let Some(x) = q.child("x", ns::DATA_FORMS) {
		let form = Form::parse(x);
		if form.form_type.as_deref().is_some_and(|t| t != ns::MAM) {
			return Err(bad("wrong FORM_TYPE"));
		}
		if let Some(w) = form.value("with").filter(|w| !w.is_empty()) {
			mq.with = Some(Jid::parse(w).map_err(|_| StanzaError::new(Condition::JidMalformed))?.as_str().to_owned());
		}
		if let Some(s) = form.value("start") {
			mq.start = Some(parse_time(s).ok_or_else(|| bad("start is not a XEP-0082 DateTime"))?);
		}
		if let Some(e) = form.value("end") {
			mq.end = Some(parse_time(e).ok_or_else(|| bad("end is not a XEP-0082 DateTime"))?);
		}
	}
	if let Some(set) = q.child("set", ns::RSM) {
		if let Some(m) = set.child("max", ns::RSM) {
			mq.max = m.text().trim().parse::<usize>().map_err(|_| bad("max is not a number"))?.min(max_page);
		}
		if let Some(a) = set.child("after", ns::RSM) {
			mq.after = Some(a.text());
		}
		if let Some(b) = set.child("before", ns::RSM) {
			let t = b.text();
			mq.before = Some((!t.is_empty()).then_some(t));
		}
		if set.child("index", ns::RSM).is_some() {
			return Err(StanzaError::with_text(Condition::FeatureNotImplemented, "paging by index is not supported"));
		}
	}
	Ok(mq)
}

fn query(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let (user, bare) = (cx.user().to_owned(), cx.jid.to_bare().as_str().to_owned());
	run_query(iq, cx, user, bare)
}

/// Answers a query of the archive kept under `key` (an account, or
/// `muc:ROOM`), results sent from `from`.
pub fn run_query(iq: &Stanza, cx: &mut Cx, key: String, from: String) -> Result<(), StanzaError> {
	let q = iq.payload().ok_or(Condition::BadRequest)?;
	let mq = parse_query(q, cx.server.config.limits.mam_max_page, cx.server.config.limits.mam_max_page_bytes)?;
	let queryid = q.attr("queryid").map(str::to_owned);
	let to = cx.jid.as_str().to_owned();
	let l = &cx.server.config.limits;
	let limits = XmlLimits { max_stanza_bytes: usize::MAX, max_depth: l.max_depth, max_attrs: l.max_attrs, max_elements: usize::MAX };
	// The error reply is made (and logged) only if it is sent.
	let (ok, request) = (iq.iq_result(), iq.el.clone());
	cx.write(move |tx| {
		let Ok(page) = tx.mam_page(&key, &mq)? else {
			let unknown = StanzaError::with_text(Condition::ItemNotFound, "no such archive id");
			return Ok(vec![Out::Reply(crate::xmpp::stanza::error_reply(&request, &unknown))]);
		};
		let mut outs = Vec::with_capacity(page.items.len() + 1);
		for item in &page.items {
			let Some(original) = parse_stored(&item.xml, ns::CLIENT, limits) else { continue };
			let mut result = Element::new("result", ns::MAM).with_attr("id", item.id.as_str());
			if let Some(qid) = &queryid {
				result.set_attr("queryid", qid.as_str());
			}
			let forwarded = Element::new("forwarded", ns::FORWARD)
				.with_child(Element::new("delay", ns::DELAY).with_attr("stamp", stamp(item.micros)))
				.with_child(original);
			let m = Element::new("message", ns::CLIENT).with_attr("from", from.as_str()).with_attr("to", to.as_str());
			outs.push(Out::Reply(m.with_child(result.with_child(forwarded))));
		}
		let mut set = Element::new("set", ns::RSM);
		if let (Some(first), Some(last)) = (page.items.first(), page.items.last()) {
			set.push(Element::new("first", ns::RSM).with_text(first.id.as_str()));
			set.push(Element::new("last", ns::RSM).with_text(last.id.as_str()));
		}
		let mut fin = Element::new("fin", ns::MAM).with_child(set);
		if page.complete {
			fin.set_attr("complete", "true");
		}
		outs.push(Out::Reply(ok.with_child(fin)));
		Ok(outs)
	});
	Ok(())
}

/// XEP-0313 §4.1.2: the fields a query may use.
fn fields(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let form = Builder::new("form", ns::MAM)
		.field("with", "jid-single", None, &[])
		.field("start", "text-single", None, &[])
		.field("end", "text-single", None, &[])
		.build();
	cx.reply(iq.iq_result().with_child(Element::new("query", ns::MAM).with_child(form)));
	Ok(())
}

fn prefs_element(p: &MamPrefs) -> Element {
	let list = |name: &str, jids: &[String]| {
		let mut el = Element::new(name, ns::MAM);
		for j in jids {
			el.push(Element::new("jid", ns::MAM).with_text(j.as_str()));
		}
		el
	};
	Element::new("prefs", ns::MAM)
		.with_attr("default", p.default.as_str())
		.with_child(list("always", &p.always))
		.with_child(list("never", &p.never))
}

fn get_prefs(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let p = cx.server.mam_prefs.borrow().by_user.get(cx.user()).cloned();
	let p = p.unwrap_or(MamPrefs { default: cx.server.config.mam_default, always: Vec::new(), never: Vec::new() });
	cx.reply(iq.iq_result().with_child(prefs_element(&p)));
	Ok(())
}

fn set_prefs(iq: &Stanza, cx: &mut Cx) -> Result<(), StanzaError> {
	cx.own_account_only(iq)?;
	let el = iq.payload().ok_or(Condition::BadRequest)?;
	let default = el.attr("default").and_then(MamDefault::parse).ok_or_else(|| bad("default must be always, never or roster"))?;
	let jids = |name: &str| -> Result<Vec<String>, StanzaError> {
		let Some(list) = el.child(name, ns::MAM) else { return Ok(Vec::new()) };
		list.children()
			.filter(|c| c.is("jid", ns::MAM))
			.map(|j| Jid::parse(j.text().trim()).map(|j| j.as_str().to_owned()).map_err(|_| StanzaError::new(Condition::JidMalformed)))
			.collect()
	};
	let prefs = MamPrefs { default, always: jids("always")?, never: jids("never")? };
	let user = cx.user().to_owned();
	let ok = iq.iq_result().with_child(prefs_element(&prefs));
	cx.write(move |tx| {
		tx.put_mam_prefs(&user, &prefs)?;
		let remember = move |cx: &mut Cx| {
			cx.server.mam_prefs.borrow_mut().by_user.insert(user, prefs);
		};
		Ok(vec![Out::Then(Deferred(Box::new(remember))), Out::Reply(ok)])
	});
	Ok(())
}

/// Deletes what is older than `mam_retention_days` (0 keeps everything).
pub fn expire(server: &crate::server::Server) {
	let days = server.config.limits.mam_retention_days;
	if days == 0 {
		return;
	}
	let cutoff = micros_now().saturating_sub(u64::from(days) * 86_400 * 1_000_000);
	server.store.write_detached(move |tx| {
		let n = tx.mam_expire(cutoff)?;
		if n > 0 {
			log::info!("archive: {n} messages older than {days} days deleted");
		}
		Ok(())
	});
}
