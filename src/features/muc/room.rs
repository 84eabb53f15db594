//! One XEP-0045 room as a state machine without I/O: who is in it with
//! which nick, role and affiliation, its configuration, subject and recent
//! history. Every operation checks the rules and returns the stanzas to
//! send (addressed to occupants' real JIDs); the service moves them.
//! Everything an occupant sends through the room carries its XEP-0421
//! occupant id: the same for one account in one room, whatever its nick,
//! and telling nothing of the account to those who may not see it.
//! One account may be in under one nick from several devices (§7.2.9):
//! one occupant with several sessions, seen once by the others; what the
//! room says goes to every session.

use std::collections::BTreeMap;

use super::history::History;

use crate::mem::Class;
use crate::store::StoredRoom;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::{BareJid, FullJid};
use crate::xmpp::ns;
use crate::xmpp::packed::Packed;

/// XEP-0045 §5.2, ordered from least to most privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Affiliation {
	Outcast,
	None,
	Member,
	Admin,
	Owner,
}

impl Affiliation {
	pub fn as_str(self) -> &'static str {
		match self {
			Self::Outcast => "outcast",
			Self::None => "none",
			Self::Member => "member",
			Self::Admin => "admin",
			Self::Owner => "owner",
		}
	}

	pub fn parse(s: &str) -> Option<Affiliation> {
		Some(match s {
			"outcast" => Self::Outcast,
			"none" => Self::None,
			"member" => Self::Member,
			"admin" => Self::Admin,
			"owner" => Self::Owner,
			_ => return None,
		})
	}
}

/// XEP-0045 §5.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
	None,
	Visitor,
	Participant,
	Moderator,
}

impl Role {
	pub fn as_str(self) -> &'static str {
		match self {
			Self::None => "none",
			Self::Visitor => "visitor",
			Self::Participant => "participant",
			Self::Moderator => "moderator",
		}
	}

	pub fn parse(s: &str) -> Option<Role> {
		Some(match s {
			"none" => Self::None,
			"visitor" => Self::Visitor,
			"participant" => Self::Participant,
			"moderator" => Self::Moderator,
			_ => return None,
		})
	}
}

/// The room configuration (XEP-0045 §10.2), as stored.
pub use crate::store::RoomConfig as Config;

/// One session (a full JID) an occupant is in the room from.
#[derive(Debug, Clone)]
pub struct Session {
	pub jid: FullJid,
	/// Its last presence, as it sent it (children kept), packed: an
	/// occupant in many rooms holds one copy per room.
	pub presence: Packed,
}

#[derive(Debug, Clone)]
pub struct Occupant {
	pub nick: String,
	pub role: Role,
	/// Never empty, at most `muc_max_sessions_per_occupant`, all of one
	/// account. The first is the one others see: its presence, and its JID
	/// where real JIDs are shown.
	pub sessions: Vec<Session>,
}

impl Occupant {
	/// The JID others see (the first session's).
	pub fn jid(&self) -> &FullJid {
		&self.sessions[0].jid
	}

	pub fn bare(&self) -> BareJid {
		self.jid().to_bare()
	}

	fn session(&self, jid: &str) -> Option<usize> {
		self.sessions.iter().position(|s| s.jid.as_str() == jid)
	}
}

/// An occupant's presence (its first session's) as a tree.
fn base_presence(o: &Occupant) -> Element {
	o.sessions[0].presence.unpack().unwrap_or_else(|| Element::new("presence", ns::CLIENT))
}

/// Packs an occupant's presence, if the memory budget has room for it.
fn pack(presence: &Element) -> Result<Packed, StanzaError> {
	Packed::new(presence, Class::Transit).map_err(|_| err(Condition::ResourceConstraint, "the server is short of memory"))
}

#[derive(Debug)]
pub struct Room {
	pub name: String,
	/// `name@service`.
	pub jid: String,
	pub config: Config,
	pub affiliations: BTreeMap<String, Affiliation>,
	/// Nicks reserved by registering (§7.10), by bare JID.
	pub nicks: BTreeMap<String, String>,
	pub occupants: Vec<Occupant>,
	/// (text, nick that set it).
	pub subject: Option<(String, String)>,
	/// Recent groupchat messages as broadcast (no `to`).
	pub history: History,
	/// The room's vCard, its avatar (XEP-0486), if an owner set one.
	pub vcard: Option<Element>,
	/// Keys occupant ids (XEP-0421); kept with a persistent room.
	salt: [u8; 16],
}

/// What a join asks for (XEP-0045 §7.2).
pub struct Join<'a> {
	pub jid: FullJid,
	pub nick: &'a str,
	pub presence: &'a Element,
	pub password: Option<&'a str>,
	/// The room was created by this join (status 201).
	pub created: bool,
	/// Most history messages to send (`<history maxstanzas/>`).
	pub history: Option<usize>,
	/// Only history newer than this (micros; `seconds`/`since`).
	pub history_since: Option<u64>,
	/// `muc_max_sessions_per_occupant`.
	pub max_sessions: usize,
}

fn err(c: Condition, text: &str) -> StanzaError {
	StanzaError::with_text(c, text)
}

fn stored_limits() -> crate::xmpp::reader::XmlLimits {
	crate::xmpp::reader::XmlLimits { max_stanza_bytes: usize::MAX, max_depth: 64, max_attrs: 256, max_elements: usize::MAX }
}

fn status(code: u16) -> Element {
	Element::new("status", ns::MUC_USER).with_attr("code", code.to_string())
}

impl Room {
	/// A new room; `salt` is random, for occupant ids.
	pub fn new(name: &str, service: &str, config: Config, salt: [u8; 16]) -> Room {
		Room {
			name: name.to_owned(),
			jid: format!("{name}@{service}"),
			config,
			affiliations: BTreeMap::new(),
			nicks: BTreeMap::new(),
			occupants: Vec::new(),
			subject: None,
			history: History::default(),
			vcard: None,
			salt,
		}
	}

	/// A stored room; `fresh_salt` serves a record from before occupant ids.
	pub fn from_stored(name: &str, service: &str, s: StoredRoom, fresh_salt: [u8; 16]) -> Room {
		let salt = s.salt.as_slice().try_into().unwrap_or(fresh_salt);
		let mut room = Room::new(name, service, s.config, salt);
		room.vcard = s.vcard.and_then(|xml| crate::xmpp::reader::parse_stored(&xml, ns::VCARD, stored_limits()));
		room.subject = s.subject;
		room.affiliations = s.affiliations.into_iter().filter_map(|(j, a)| Some((j, Affiliation::parse(&a)?))).collect();
		room.nicks = s.nicks.into_iter().collect();
		room
	}

	pub fn to_stored(&self) -> StoredRoom {
		StoredRoom {
			config: self.config.clone(),
			subject: self.subject.clone(),
			affiliations: self.affiliations.iter().map(|(j, a)| (j.clone(), a.as_str().to_owned())).collect(),
			nicks: self.nicks.iter().map(|(j, n)| (j.clone(), n.clone())).collect(),
			vcard: self.vcard.as_ref().map(|c| c.to_xml(ns::VCARD)),
			salt: self.salt.to_vec(),
		}
	}

	/// XEP-0421: `<occupant-id/>` for the account `o` is in, stable in this
	/// room and not to be reversed without the room's salt.
	fn occupant_id(&self, o: &Occupant) -> Element {
		let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.salt);
		let tag = ring::hmac::sign(&key, o.bare().as_str().as_bytes());
		let id = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &tag.as_ref()[..16]);
		Element::new("occupant-id", ns::OCCUPANT_ID).with_attr("id", id)
	}

	/// May `jid` read the room's archive (XEP-0313)? Err says why not.
	pub fn may_read_archive(&self, jid: &FullJid) -> Result<(), &'static str> {
		let aff = self.affiliation(jid.to_bare().as_str());
		if aff == Affiliation::Outcast {
			return Err("you are banned from this room");
		}
		let closed = self.config.members_only || self.config.password.is_some();
		if closed && aff < Affiliation::Member && self.by_jid(jid.as_str()).is_none() {
			return Err(if self.config.members_only {
				"this room's archive is for its members"
			} else {
				"join the room (it has a password) to read its archive"
			});
		}
		Ok(())
	}

	pub fn affiliation(&self, bare: &str) -> Affiliation {
		self.affiliations.get(bare).copied().unwrap_or(Affiliation::None)
	}

	/// The occupant that the session `jid` is one of.
	pub fn by_jid(&self, jid: &str) -> Option<usize> {
		self.occupants.iter().position(|o| o.session(jid).is_some())
	}

	/// An occupant whose account is `bare`.
	pub fn by_bare_jid(&self, bare: &str) -> Option<usize> {
		self.occupants.iter().position(|o| o.bare().as_str() == bare)
	}

	/// Every session in the room, with its occupant: where what the room
	/// says goes.
	fn audience(&self) -> impl Iterator<Item = (&Occupant, &FullJid)> {
		self.occupants.iter().flat_map(|o| o.sessions.iter().map(move |s| (o, &s.jid)))
	}

	/// Who reserved `nick` by registering (§7.10), if anyone.
	pub fn nick_holder(&self, nick: &str) -> Option<&str> {
		self.nicks.iter().find(|(_, n)| n.as_str() == nick).map(|(j, _)| j.as_str())
	}

	pub fn by_nick(&self, nick: &str) -> Option<usize> {
		self.occupants.iter().position(|o| o.nick == nick)
	}

	fn nick_jid(&self, nick: &str) -> String {
		format!("{}/{nick}", self.jid)
	}

	fn default_role(&self, aff: Affiliation) -> Role {
		match aff {
			Affiliation::Owner | Affiliation::Admin => Role::Moderator,
			Affiliation::Member => Role::Participant,
			_ if self.config.moderated => Role::Visitor,
			_ => Role::Participant,
		}
	}

	/// `<x xmlns='…muc#user'><item …/></x>` describing `o` to `viewer`.
	fn user_x(&self, o: &Occupant, viewer_is_moderator: bool) -> Element {
		let mut item = Element::new("item", ns::MUC_USER)
			.with_attr("affiliation", self.affiliation(o.bare().as_str()).as_str())
			.with_attr("role", o.role.as_str());
		if self.config.whois_anyone || viewer_is_moderator {
			item.set_attr("jid", o.jid().as_str());
		}
		Element::new("x", ns::MUC_USER).with_child(item)
	}

	/// `o`'s presence as `viewer` sees it in its session `to`.
	fn presence_of(&self, o: &Occupant, viewer: &Occupant, to: &FullJid) -> Element {
		self.presence_from(o, &base_presence(o), viewer, to)
	}

	/// `o`'s presence for every session (its stored presence read once).
	fn presence_to_all(&self, o: &Occupant) -> Vec<Element> {
		let base = base_presence(o);
		self.audience().map(|(viewer, to)| self.presence_from(o, &base, viewer, to)).collect()
	}

	/// [`Room::presence_of`] from `o`'s stored presence, already unpacked.
	fn presence_from(&self, o: &Occupant, base: &Element, viewer: &Occupant, to: &FullJid) -> Element {
		let mut p = base.clone();
		p.retain_children(|c| c.ns() != ns::MUC && c.ns() != ns::MUC_USER && c.ns() != ns::OCCUPANT_ID);
		p.set_attr("from", self.nick_jid(&o.nick));
		p.set_attr("to", to.as_str());
		p.remove_attr("type");
		p.remove_attr("id");
		let mut x = self.user_x(o, viewer.role == Role::Moderator);
		// Nicks are unique: the same nick is the same occupant.
		if o.nick == viewer.nick {
			x.push(status(110));
			if self.config.whois_anyone {
				x.push(status(100));
			}
			// Messages here are archived (XEP-0313 for MUC).
			x.push(status(170));
		}
		p.push(x);
		p.push(self.occupant_id(o));
		p
	}

	/// Unavailable presence of `o` (who has left) for every session still
	/// in and for each of `o`'s, with status codes and `<actor/>`/`<reason/>`
	/// in the item.
	fn leave_presences(&self, o: &Occupant, codes: &[u16], extra: &[Element], status_text: Option<&str>) -> Vec<Element> {
		let own = o.sessions.iter().map(|s| (o, &s.jid));
		self.audience().chain(own).map(|(viewer, to)| self.unavailable(o, viewer, to, codes, extra, status_text)).collect()
	}

	/// `o`'s unavailable presence as `viewer` sees it in its session `to`.
	fn unavailable(
		&self,
		o: &Occupant,
		viewer: &Occupant,
		to: &FullJid,
		codes: &[u16],
		extra: &[Element],
		status_text: Option<&str>,
	) -> Element {
		let mut item = Element::new("item", ns::MUC_USER)
			.with_attr("affiliation", self.affiliation(o.bare().as_str()).as_str())
			.with_attr("role", Role::None.as_str());
		if self.config.whois_anyone || viewer.role == Role::Moderator {
			item.set_attr("jid", o.jid().as_str());
		}
		for e in extra {
			item.push(e.clone());
		}
		let mut x = Element::new("x", ns::MUC_USER).with_child(item);
		if viewer.nick == o.nick {
			x.push(status(110));
		}
		for c in codes {
			x.push(status(*c));
		}
		let mut p = Element::new("presence", ns::CLIENT)
			.with_attr("from", self.nick_jid(&o.nick))
			.with_attr("to", to.as_str())
			.with_attr("type", "unavailable");
		if let Some(t) = status_text {
			p.push(Element::new("status", ns::CLIENT).with_text(t));
		}
		p.push(x);
		p.push(self.occupant_id(o));
		p
	}

	/// XEP-0045 §7.2: enter the room (or, from the same JID, rejoin; or,
	/// from another session of the account holding the nick, join it, §7.2.9).
	pub fn join(&mut self, j: Join<'_>, now: u64) -> Result<Vec<Element>, StanzaError> {
		let bare = j.jid.to_bare();
		let aff = self.affiliation(bare.as_str());
		if let Some(i) = self.by_jid(j.jid.as_str()) {
			if self.occupants[i].nick != j.nick {
				return self.change_nick(&j.jid, j.nick, j.presence, j.max_sessions);
			}
			// A rejoin (say, after a reconnect): the state again, no history.
			let s = self.occupants[i].session(j.jid.as_str()).expect("found by it");
			self.occupants[i].sessions[s].presence = pack(j.presence)?;
			return Ok(self.state_for(i, &j.jid, None, None, &[], now));
		}
		if aff == Affiliation::Outcast {
			return Err(err(Condition::Forbidden, "you are banned from this room"));
		}
		if self.config.members_only && aff < Affiliation::Member {
			return Err(StanzaError::with_text(Condition::RegistrationRequired, "this room is for members only"));
		}
		if let Some(pw) = &self.config.password
			&& aff < Affiliation::Admin
			&& j.password != Some(pw.as_str())
		{
			return Err(err(Condition::NotAuthorized, "this room needs a password"));
		}
		self.nick_free_for(j.nick, &bare, j.max_sessions)?;
		if let Some(i) = self.by_nick(j.nick) {
			// Another session of the same account: the others see nothing new.
			self.occupants[i].sessions.push(Session { jid: j.jid.clone(), presence: pack(j.presence)? });
			return Ok(self.state_for(i, &j.jid, j.history, j.history_since, &[], now));
		}
		if self.occupants.len() >= self.config.max_users as usize && aff < Affiliation::Admin {
			return Err(err(Condition::ServiceUnavailable, "the room is full"));
		}
		let session = Session { jid: j.jid.clone(), presence: pack(j.presence)? };
		let me = Occupant { nick: j.nick.to_owned(), role: self.default_role(aff), sessions: vec![session] };
		self.occupants.push(me);
		let i = self.occupants.len() - 1;
		let codes: &[u16] = if j.created { &[201] } else { &[] };
		let mut out = Vec::new();
		// The others learn of the newcomer.
		let me = &self.occupants[i];
		let base = base_presence(me);
		for (other, to) in self.audience().filter(|(o, _)| o.nick != me.nick) {
			out.push(self.presence_from(me, &base, other, to));
		}
		out.extend(self.state_for(i, &j.jid, j.history, j.history_since, codes, now));
		Ok(out)
	}

	/// May the account `bare` have `nick`? Not if another account is in
	/// under it or reserved it, nor if this one is in under it from as many
	/// sessions as allowed.
	fn nick_free_for(&self, nick: &str, bare: &BareJid, max_sessions: usize) -> Result<(), StanzaError> {
		if let Some(i) = self.by_nick(nick) {
			if self.occupants[i].bare() != *bare {
				return Err(err(Condition::Conflict, "that nickname is in use"));
			}
			if self.occupants[i].sessions.len() >= max_sessions {
				return Err(err(Condition::Conflict, "you are in under that nickname from as many devices as a room allows"));
			}
		}
		if self.nick_holder(nick).is_some_and(|holder| holder != bare.as_str()) {
			return Err(err(Condition::Conflict, "that nickname is reserved by a member"));
		}
		Ok(())
	}

	/// What a (re)joining session `to` of occupant `i` gets: everyone's
	/// presence, its own (with 110), history, then the subject (§7.2.3 order).
	fn state_for(&self, i: usize, to: &FullJid, history: Option<usize>, since: Option<u64>, codes: &[u16], _now: u64) -> Vec<Element> {
		let me = &self.occupants[i];
		let mut out = Vec::new();
		for other in self.occupants.iter().filter(|o| o.nick != me.nick) {
			out.push(self.presence_of(other, me, to));
		}
		let mut own = self.presence_of(me, me, to);
		let found = own.children().find(|c| c.is("x", ns::MUC_USER)).cloned();
		if let Some(mut x) = found {
			for c in codes {
				x.push(status(*c));
			}
			own.retain_children(|c| !c.is("x", ns::MUC_USER));
			own.push(x);
		}
		out.push(own);
		let wanted = history.unwrap_or(usize::MAX);
		let recent: Vec<&(Packed, u64)> = self.history.since(since).collect();
		for (p, t) in recent.iter().skip(recent.len().saturating_sub(wanted)) {
			let Some(mut m) = p.unpack() else { continue };
			m.set_attr("to", to.as_str());
			let stamp = super::super::time::stamp(std::time::UNIX_EPOCH + std::time::Duration::from_micros(*t)).unwrap_or_default();
			m.push(Element::new("delay", ns::DELAY).with_attr("from", self.jid.as_str()).with_attr("stamp", stamp));
			out.push(m);
		}
		let (text, from) = match &self.subject {
			Some((text, nick)) => (text.as_str(), self.nick_jid(nick)),
			None => ("", self.jid.clone()),
		};
		out.push(
			Element::new("message", ns::CLIENT)
				.with_attr("from", from)
				.with_attr("to", to.as_str())
				.with_attr("type", "groupchat")
				.with_child(Element::new("subject", ns::CLIENT).with_text(text)),
		);
		out
	}

	/// A presence update from the session `jid` of occupant `i`: to
	/// everyone if it is the session others see, else only kept.
	pub fn update(&mut self, i: usize, jid: &FullJid, presence: &Element) -> Result<Vec<Element>, StanzaError> {
		let s = self.occupants[i].session(jid.as_str()).ok_or_else(|| err(Condition::ItemNotFound, "not in the room"))?;
		self.occupants[i].sessions[s].presence = pack(presence)?;
		if s > 0 {
			return Ok(Vec::new());
		}
		let me = &self.occupants[i];
		Ok(self.presence_to_all(me))
	}

	/// XEP-0045 §7.6: the session `jid` takes a new nick, announced as
	/// leaving (303) and coming back. Its account's other sessions keep the
	/// old nick; a nick its account is in under already is joined (§7.2.9).
	pub fn change_nick(&mut self, jid: &FullJid, nick: &str, presence: &Element, max_sessions: usize) -> Result<Vec<Element>, StanzaError> {
		let i = self.by_jid(jid.as_str()).ok_or_else(|| err(Condition::ItemNotFound, "not in the room"))?;
		self.nick_free_for(nick, &jid.to_bare(), max_sessions)?;
		let session = Session { jid: jid.clone(), presence: pack(presence)? };
		let s = self.occupants[i].session(jid.as_str()).expect("found by it");
		let mut out = Vec::new();
		let role = self.occupants[i].role;
		if self.occupants[i].sessions.len() == 1 {
			// The occupant goes with its only session: everyone is told.
			let old = self.occupants.remove(i);
			let own = std::iter::once((&old, jid));
			for (viewer, to) in self.audience().chain(own) {
				out.push(self.nick_change_presence(&old, viewer, to, nick));
			}
		} else {
			let old = &self.occupants[i];
			out.push(self.nick_change_presence(old, old, jid, nick));
			self.occupants[i].sessions.remove(s);
			if s == 0 {
				// Another session of the old nick is the one seen now.
				out.extend(self.presence_to_all(&self.occupants[i]));
			}
		}
		match self.by_nick(nick) {
			Some(t) => {
				self.occupants[t].sessions.push(session);
				let me = &self.occupants[t];
				out.push(self.presence_of(me, me, jid));
			}
			None => {
				self.occupants.push(Occupant { nick: nick.to_owned(), role, sessions: vec![session] });
				let me = self.occupants.last().expect("just pushed");
				out.extend(self.presence_to_all(me));
			}
		}
		Ok(out)
	}

	/// `old`'s unavailable presence with 303 and its new nick, as `viewer`
	/// sees it in its session `to`.
	fn nick_change_presence(&self, old: &Occupant, viewer: &Occupant, to: &FullJid, nick: &str) -> Element {
		let mut x = self.user_x(old, viewer.role == Role::Moderator);
		let item = x.children().next().cloned();
		if let Some(item) = item {
			x = Element::new("x", ns::MUC_USER).with_child(item.with_attr("nick", nick));
		}
		x.push(status(303));
		if viewer.nick == old.nick {
			x.push(status(110));
		}
		Element::new("presence", ns::CLIENT)
			.with_attr("from", self.nick_jid(&old.nick))
			.with_attr("to", to.as_str())
			.with_attr("type", "unavailable")
			.with_child(x)
			.with_child(self.occupant_id(old))
	}

	/// The session `jid` leaves (§7.14) with its unavailable presence's
	/// status: the occupant goes with its last session.
	pub fn leave(&mut self, jid: &FullJid, status_text: Option<&str>) -> Vec<Element> {
		self.leave_session(jid, &[], status_text)
	}

	/// The session `jid` cannot be reached any more (its server is gone or
	/// refuses what the room sends): it is removed with status 333.
	pub fn drop_unreachable(&mut self, jid: &FullJid) -> Vec<Element> {
		self.leave_session(jid, &[333], None)
	}

	fn leave_session(&mut self, jid: &FullJid, codes: &[u16], status_text: Option<&str>) -> Vec<Element> {
		let Some(i) = self.by_jid(jid.as_str()) else { return Vec::new() };
		if self.occupants[i].sessions.len() == 1 {
			let o = self.occupants.remove(i);
			return self.leave_presences(&o, codes, &[], status_text);
		}
		// Only this session goes: it is told; the others see nothing unless
		// it was the session they saw.
		let s = self.occupants[i].session(jid.as_str()).expect("found by it");
		let o = &self.occupants[i];
		let mut out = vec![self.unavailable(o, o, jid, codes, &[], status_text)];
		self.occupants[i].sessions.remove(s);
		if s == 0 {
			out.extend(self.presence_to_all(&self.occupants[i]));
		}
		out
	}

	/// A groupchat message from occupant `i` (§7.4), or a subject change
	/// (§8.1). Returns the message as archived and the copies to send.
	/// `keep`: the history's bounds (messages, bytes).
	pub fn groupchat(
		&mut self,
		i: usize,
		msg: &Element,
		id: &str,
		now: u64,
		keep: (usize, usize),
	) -> Result<(Element, Vec<Element>), StanzaError> {
		let o = &self.occupants[i];
		let subject = msg.child("subject", ns::CLIENT);
		if o.role < Role::Participant {
			return Err(err(Condition::Forbidden, "visitors may not speak in a moderated room"));
		}
		if let Some(s) = subject
			&& msg.child("body", ns::CLIENT).is_none()
		{
			if o.role != Role::Moderator && !self.config.change_subject {
				return Err(err(Condition::Forbidden, "only moderators may change the subject"));
			}
			self.subject = Some((s.text(), o.nick.clone()));
		}
		let mut m = msg.clone();
		m.set_attr("from", self.nick_jid(&o.nick));
		m.remove_attr("to");
		// Only the room says who is who and which id it gave (XEP-0421 §4).
		m.retain_children(|c| !c.is("stanza-id", ns::SID) && c.ns() != ns::OCCUPANT_ID);
		m.push(self.occupant_id(o));
		m.push(Element::new("stanza-id", ns::SID).with_attr("id", id).with_attr("by", self.jid.as_str()));
		let out = self
			.audience()
			.map(|(_, to)| {
				let mut copy = m.clone();
				copy.set_attr("to", to.as_str());
				copy
			})
			.collect();
		// A subject change is not history: clients take a body-less
		// subject as the end of it (§7.2.15); the room keeps the subject.
		if crate::features::mam::worth_keeping(&m) {
			self.history.push(&m, now, keep);
		}
		Ok((m, out))
	}

	/// A private message from occupant `i` to the occupant `nick` (§7.5),
	/// for each of its sessions.
	pub fn private(&self, i: usize, nick: &str, msg: &Element) -> Result<Vec<Element>, StanzaError> {
		let to = self.by_nick(nick).ok_or_else(|| err(Condition::ItemNotFound, "no such occupant"))?;
		let mut m = msg.clone();
		m.set_attr("from", self.nick_jid(&self.occupants[i].nick));
		m.retain_children(|c| c.ns() != ns::OCCUPANT_ID);
		m.push(Element::new("x", ns::MUC_USER));
		m.push(self.occupant_id(&self.occupants[i]));
		let copies = self.occupants[to].sessions.iter().map(|s| {
			let mut copy = m.clone();
			copy.set_attr("to", s.jid.as_str());
			copy
		});
		Ok(copies.collect())
	}

	/// §9.6 and §8.5: an admin or moderator changes someone's role by nick.
	pub fn set_role(&mut self, actor: usize, nick: &str, role: Role, reason: Option<&str>) -> Result<Vec<Element>, StanzaError> {
		let a = &self.occupants[actor];
		let actor_aff = self.affiliation(a.bare().as_str());
		let t = self.by_nick(nick).ok_or_else(|| err(Condition::ItemNotFound, "no such occupant"))?;
		let target_aff = self.affiliation(self.occupants[t].bare().as_str());
		let allowed = match role {
			Role::Moderator => actor_aff >= Affiliation::Admin,
			_ if target_aff >= Affiliation::Admin => false,
			_ => a.role == Role::Moderator && (target_aff < actor_aff || self.occupants[t].role < Role::Moderator),
		};
		if !allowed {
			return Err(err(Condition::NotAllowed, "you may not change that occupant's role"));
		}
		let actor_nick = a.nick.clone();
		if role == Role::None {
			return Ok(self.remove(t, 307, &actor_nick, reason));
		}
		self.occupants[t].role = role;
		let me = &self.occupants[t];
		Ok(self.presence_to_all(me))
	}

	/// Takes occupant `t` out, every session of it, with status `code` (307
	/// kick, 301 ban, 321 membership lost), naming the actor.
	fn remove(&mut self, t: usize, code: u16, actor_nick: &str, reason: Option<&str>) -> Vec<Element> {
		let o = self.occupants.remove(t);
		let mut extra = vec![Element::new("actor", ns::MUC_USER).with_attr("nick", actor_nick)];
		if let Some(r) = reason {
			extra.push(Element::new("reason", ns::MUC_USER).with_text(r));
		}
		self.leave_presences(&o, &[code], &extra, None)
	}

	/// §9 and §10: an admin or owner changes a JID's affiliation.
	pub fn set_affiliation(
		&mut self,
		actor_bare: &str,
		jid: &str,
		aff: Affiliation,
		reason: Option<&str>,
	) -> Result<Vec<Element>, StanzaError> {
		let actor_aff = self.affiliation(actor_bare);
		let current = self.affiliation(jid);
		let allowed = match (aff, current) {
			(Affiliation::Owner | Affiliation::Admin, _) | (_, Affiliation::Owner | Affiliation::Admin) => actor_aff == Affiliation::Owner,
			_ => actor_aff >= Affiliation::Admin,
		};
		if !allowed {
			return Err(err(Condition::NotAllowed, "you may not change that affiliation"));
		}
		let owners = self.affiliations.values().filter(|a| **a == Affiliation::Owner).count();
		if current == Affiliation::Owner && aff != Affiliation::Owner && owners <= 1 {
			return Err(err(Condition::Conflict, "a room needs an owner"));
		}
		if aff == Affiliation::None {
			self.affiliations.remove(jid);
		} else {
			self.affiliations.insert(jid.to_owned(), aff);
		}
		let actor_nick = self.occupants.iter().find(|o| o.bare().as_str() == actor_bare).map(|o| o.nick.clone()).unwrap_or_default();
		let mut out = Vec::new();
		let targets: Vec<usize> = (0..self.occupants.len()).rev().filter(|i| self.occupants[*i].bare().as_str() == jid).collect();
		for t in targets {
			if aff == Affiliation::Outcast {
				out.extend(self.remove(t, 301, &actor_nick, reason));
			} else if aff < Affiliation::Member && self.config.members_only {
				out.extend(self.remove(t, 321, &actor_nick, reason));
			} else {
				self.occupants[t].role = self.default_role(aff);
				let me = &self.occupants[t];
				out.extend(self.presence_to_all(me));
			}
		}
		Ok(out)
	}

	/// §10.9: the room goes; everyone is told, with the reason.
	pub fn destroy(&mut self, reason: Option<&str>, alternate: Option<&str>) -> Vec<Element> {
		let mut d = Element::new("destroy", ns::MUC_USER);
		if let Some(j) = alternate {
			d.set_attr("jid", j);
		}
		if let Some(r) = reason {
			d.push(Element::new("reason", ns::MUC_USER).with_text(r));
		}
		let gone = std::mem::take(&mut self.occupants);
		gone.iter()
			.flat_map(|o| o.sessions.iter().map(move |s| (o, &s.jid)))
			.map(|(o, to)| {
				let item = Element::new("item", ns::MUC_USER).with_attr("affiliation", "none").with_attr("role", "none");
				Element::new("presence", ns::CLIENT)
					.with_attr("from", self.nick_jid(&o.nick))
					.with_attr("to", to.as_str())
					.with_attr("type", "unavailable")
					.with_child(Element::new("x", ns::MUC_USER).with_child(item).with_child(d.clone()).with_child(status(110)))
			})
			.collect()
	}

	/// A message from the room to every occupant (e.g. status 104 after a
	/// configuration change).
	pub fn notice(&self, codes: &[u16]) -> Vec<Element> {
		self.audience()
			.map(|(_, to)| {
				let mut x = Element::new("x", ns::MUC_USER);
				for c in codes {
					x.push(status(*c));
				}
				Element::new("message", ns::CLIENT)
					.with_attr("from", self.jid.as_str())
					.with_attr("to", to.as_str())
					.with_attr("type", "groupchat")
					.with_child(x)
			})
			.collect()
	}
}
