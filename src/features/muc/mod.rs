//! XEP-0045 Multi-User Chat on `rooms.<domain>`: persistent and temporary
//! rooms, roles and affiliations, members-only, password, moderated and
//! hidden rooms, the configuration form, subject, history on join, nick
//! changes, kick and ban, destruction, mediated invitations, self-ping
//! (XEP-0410), the room archive (XEP-0313), occupant ids (XEP-0421) and
//! room avatars (XEP-0486). Rooms live in memory; the
//! persistent ones are stored (configuration, subject, affiliations) and
//! their messages archived, so they come back after a restart with history.
//!
//! Limits: `muc_max_rooms`, `muc_max_rooms_per_account` (rooms one account
//! owns, counted when it makes one), `muc_max_occupants` (the most a room may
//! allow), `muc_max_sessions_per_occupant` (devices one account is in a
//! room from under one nick), `muc_history_messages` (sent on join).

mod avatar;
mod config;
mod history;
mod requests;
mod room;

use std::collections::HashMap;
use std::time::UNIX_EPOCH;

use room::{Affiliation, Join, Role, Room};

use super::{Cx, Feature, Out};
use crate::server::Server;
use crate::store::MamQuery;
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::jid::{FullJid, Jid};
use crate::xmpp::ns;
use crate::xmpp::stanza::{IqType, MessageType, PresenceType, Stanza, StanzaType};

pub const FEATURE: Feature =
	Feature { name: "muc", spec: "XEP-0045 1.35, XEP-0410 1.1, XEP-0421 0.1, XEP-0486 0.1", disco: &[], account: &[], iq: &[] };

/// Every room of the service.
#[derive(Debug, Default)]
pub struct Service {
	rooms: HashMap<String, Room>,
}

impl Service {
	/// The persistent rooms, with their last messages as history (`keep`:
	/// messages, bytes), read as the archive stored them: never parsed.
	pub fn load(server: &crate::store::Store, service: &str, keep: (usize, usize)) -> Service {
		let stored = server.snapshot().and_then(|s| s.muc_rooms()).unwrap_or_else(|e| {
			log::error!("rooms: {e}");
			Vec::new()
		});
		let mut rooms = HashMap::new();
		let rng = ring::rand::SystemRandom::new();
		for (name, s) in stored {
			let mut salt = [0; 16];
			ring::rand::SecureRandom::fill(&rng, &mut salt).expect("system random number generator failed");
			let old_record = s.salt.len() != salt.len();
			let mut room = Room::from_stored(&name, service, s, salt);
			if old_record {
				// Occupant ids stay the same from now on.
				let (key, stored) = (name.clone(), room.to_stored());
				if let Err(e) = server.write_blocking(move |tx| tx.put_muc_room(&key, &stored)) {
					log::error!("room {name}: {e}");
				}
			}
			let q = MamQuery { before: Some(None), max: keep.0, ..Default::default() };
			let key = format!("muc:{name}");
			if let Ok(Ok(page)) = server.write_blocking(move |tx| tx.mam_page(&key, &q)) {
				for item in page.items {
					room.history.push_xml(item.xml, item.micros, keep);
				}
			}
			rooms.insert(name, room);
		}
		Service { rooms }
	}

	pub fn len(&self) -> usize {
		self.rooms.len()
	}

	pub fn is_empty(&self) -> bool {
		self.rooms.is_empty()
	}
}

/// One room as the admin sees it (`xerra room list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInfo {
	pub name: String,
	pub title: String,
	pub persistent: bool,
	pub occupants: usize,
	/// Messages and bytes of history kept in memory.
	pub history: (usize, usize),
	/// The first `LIST_NICKS` occupants' nicks, in the order they came in.
	pub nicks: Vec<String>,
	pub settings: RoomSettings,
}

/// How many nicks a room's line in the list names; the rest are counted.
pub const LIST_NICKS: usize = 8;

impl RoomInfo {
	/// "a, b and 3 more" (nothing if the room is empty).
	pub fn nicks_text(&self) -> String {
		let mut out = self.nicks.join(", ");
		let more = self.occupants.saturating_sub(self.nicks.len());
		if more > 0 {
			out.push_str(&format!(" and {more} more"));
		}
		out
	}
}

/// A room's settings as the admin sees them (never its password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomSettings {
	pub public: bool,
	pub members_only: bool,
	pub moderated: bool,
	pub password: bool,
	pub max_users: u32,
	/// Real JIDs shown to everyone, not only to moderators.
	pub whois_anyone: bool,
}

impl RoomSettings {
	pub fn of(c: &room::Config) -> RoomSettings {
		RoomSettings {
			public: !c.hidden,
			members_only: c.members_only,
			moderated: c.moderated,
			password: c.password.is_some(),
			max_users: c.max_users,
			whois_anyone: c.whois_anyone,
		}
	}

	/// One line for people: "public, open to all, unmoderated, no password, at most 20 people, real addresses seen by moderators".
	pub fn describe(&self) -> String {
		format!(
			"{}, {}, {}, {}, at most {} people, real addresses seen by {}",
			if self.public { "public" } else { "hidden" },
			if self.members_only { "members only" } else { "open to all" },
			if self.moderated { "moderated" } else { "unmoderated" },
			if self.password { "password" } else { "no password" },
			self.max_users,
			if self.whois_anyone { "everyone" } else { "moderators" },
		)
	}
}

/// Every room of a running service.
pub fn rooms(server: &Server) -> Vec<RoomInfo> {
	let svc = server.muc.borrow();
	let mut out: Vec<RoomInfo> = svc
		.rooms
		.values()
		.map(|r| RoomInfo {
			name: r.name.clone(),
			title: r.config.title.clone(),
			persistent: r.config.persistent,
			occupants: r.occupants.len(),
			history: (r.history.len(), r.history.bytes()),
			nicks: r.occupants.iter().take(LIST_NICKS).map(|o| o.nick.clone()).collect(),
			settings: RoomSettings::of(&r.config),
		})
		.collect();
	out.sort_by(|a, b| a.name.cmp(&b.name));
	out
}

/// Destroys a room for the admin (XEP-0045 §10.9: its occupants are told,
/// with `reason`); its stored state and archive go too. False if there is
/// no such room.
pub async fn destroy(server: &Server, name: &str, reason: Option<&str>) -> Result<bool, crate::store::StoreError> {
	let room = server.muc.borrow_mut().rooms.remove(name);
	let stored = server.store.snapshot()?.muc_rooms()?.iter().any(|(n, _)| n == name);
	if room.is_none() && !stored {
		return Ok(false);
	}
	let n = name.to_owned();
	server.store.write(move |tx| tx.delete_muc_room(&n)).await?;
	if let Some(mut room) = room {
		let out = room.destroy(reason, None);
		let Ok(jid) = FullJid::parse(&format!("{}/admin", service_domain(&server.config.domain))) else { return Ok(true) };
		let mut cx = Cx::new(server, &jid, 0);
		send(&mut cx, out);
		crate::router::finish(cx, &[]).await;
	}
	log::info!("room {name} destroyed by the admin");
	Ok(true)
}

/// The admin makes a room persistent (stored, kept when empty) or
/// temporary (no longer stored; gone once empty). False if there is no such
/// room live.
pub async fn set_persistent(server: &Server, name: &str, persistent: bool) -> Result<bool, crate::store::StoreError> {
	let stored = {
		let mut svc = server.muc.borrow_mut();
		let Some(room) = svc.rooms.get_mut(name) else { return Ok(false) };
		room.config.persistent = persistent;
		let stored = persistent.then(|| room.to_stored());
		if !persistent && room.occupants.is_empty() {
			svc.rooms.remove(name);
		}
		stored
	};
	let n = name.to_owned();
	match stored {
		Some(room) => server.store.write(move |tx| tx.put_muc_room(&n, &room)).await?,
		None => server.store.write(move |tx| tx.delete_muc_room(&n)).await?,
	}
	log::info!("room {name} made {} by the admin", if persistent { "persistent" } else { "temporary" });
	Ok(true)
}

/// `rooms.<domain>`.
pub fn service_domain(domain: &str) -> String {
	format!("rooms.{domain}")
}

/// Is this JID on the room service?
pub fn is_ours(jid: &Jid, cx: &Cx) -> bool {
	jid.domain().strip_prefix("rooms.").is_some_and(|d| d == cx.domain())
}

fn micros_now() -> u64 {
	UNIX_EPOCH.elapsed().map_or(0, |d| d.as_micros() as u64)
}

fn send(cx: &mut Cx, els: Vec<Element>) {
	for el in els {
		cx.send(Out::Route(el));
	}
}

/// Stores a persistent room's state (after a change).
fn persist(room: &Room, cx: &mut Cx) {
	if room.config.persistent {
		let (name, stored) = (room.name.clone(), room.to_stored());
		cx.write(move |tx| tx.put_muc_room(&name, &stored).map(|_| Vec::new()));
	}
}

/// A stanza from a client to the room service.
pub fn handle(stanza: &Stanza, cx: &mut Cx) {
	let Some(to) = stanza.to.clone() else { return };
	// An occupant's server answering what the room sent with an error.
	if !matches!(stanza.ty, StanzaType::Iq(_)) && stanza.el.attr("type") == Some("error") {
		let fatal = stanza.el.child("error", ns::CLIENT).and_then(|e| e.attr("type")).is_some_and(|t| t == "cancel" || t == "auth");
		if fatal {
			let real = cx.jid.clone();
			unreachable(&to, &real, cx);
		}
		return;
	}
	match stanza.ty {
		StanzaType::Presence(t) => presence(stanza, t, &to, cx),
		StanzaType::Message(t) => message(stanza, t, &to, cx),
		StanzaType::Iq(t) => iq(stanza, t, &to, cx),
	}
}

fn presence_error(stanza: &Stanza, e: &StanzaError, cx: &mut Cx) {
	let mut reply = stanza.error_reply(e);
	reply.push(Element::new("x", ns::MUC));
	cx.reply(reply);
}

fn presence(stanza: &Stanza, t: PresenceType, to: &Jid, cx: &mut Cx) {
	let (Some(name), nick) = (to.node().map(str::to_owned), to.resource().map(str::to_owned)) else { return };
	match t {
		PresenceType::Available => {
			let Some(nick) = nick.filter(|n| !n.trim().is_empty()) else {
				return presence_error(stanza, &StanzaError::with_text(Condition::JidMalformed, "a nickname is needed"), cx);
			};
			if let Err(e) = join(stanza, &name, &nick, cx) {
				presence_error(stanza, &e, cx);
			}
		}
		PresenceType::Unavailable => {
			let status = stanza.el.child("status", ns::CLIENT).map(Element::text);
			leave(&name, cx.jid, status.as_deref(), cx);
		}
		_ => {}
	}
}

fn join(stanza: &Stanza, name: &str, nick: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	let limits = &cx.server.config.limits;
	let (max_rooms, max_occupants, keep) = (limits.muc_max_rooms, limits.muc_max_occupants, limits.muc_history_messages);
	let max_sessions = limits.muc_max_sessions_per_occupant;
	let service = service_domain(cx.domain());
	let mut svc = cx.server.muc.borrow_mut();
	let created = !svc.rooms.contains_key(name);
	if created {
		if svc.rooms.len() >= max_rooms {
			return Err(StanzaError::with_text(Condition::NotAllowed, "no more rooms can be made"));
		}
		// One account must not take every room (issue 11: all 1000 in 2 s).
		let me = cx.jid.to_bare();
		if svc.rooms.values().filter(|r| r.affiliation(me.as_str()) == Affiliation::Owner).count() >= limits.muc_max_rooms_per_account {
			return Err(StanzaError::with_text(Condition::NotAllowed, "you own as many rooms as one account may"));
		}
		let mut salt = [0; 16];
		cx.server.random(&mut salt);
		let mut room = Room::new(name, &service, room::Config::new(max_occupants), salt);
		room.affiliations.insert(cx.jid.to_bare().as_str().to_owned(), Affiliation::Owner);
		svc.rooms.insert(name.to_owned(), room);
	}
	let room = svc.rooms.get_mut(name).expect("just made or found");
	let x = stanza.el.child("x", ns::MUC);
	// Joined already with this nick and no <x/>: a presence update.
	if x.is_none()
		&& let Some(i) = room.by_jid(cx.jid.as_str())
		&& room.occupants[i].nick == nick
	{
		let out = room.update(i, cx.jid, &stanza.el)?;
		drop(svc);
		send(cx, out);
		return Ok(());
	}
	let history = x.and_then(|x| x.child("history", ns::MUC));
	let now = micros_now();
	let since = history.and_then(|h| {
		// Client input: any number of seconds, so no overflow.
		let secs = h.attr("seconds").and_then(|s| s.parse::<u64>().ok()).map(|s| now.saturating_sub(s.saturating_mul(1_000_000)));
		let since = h.attr("since").and_then(super::mam::parse_time);
		secs.max(since)
	});
	let password = x.and_then(|x| x.child("password", ns::MUC)).map(|p| p.text());
	let j = Join {
		jid: cx.jid.clone(),
		nick,
		presence: &stanza.el,
		password: password.as_deref(),
		created,
		history: history.and_then(|h| h.attr("maxstanzas")).and_then(|m| m.parse().ok()).map(|m: usize| m.min(keep)),
		history_since: since,
		max_sessions,
	};
	match room.join(j, now) {
		Ok(out) => {
			drop(svc);
			send(cx, out);
			Ok(())
		}
		Err(e) => {
			if created {
				svc.rooms.remove(name);
			}
			Err(e)
		}
	}
}

/// The session `jid` leaves room `name` (if it is in it).
fn leave(name: &str, jid: &FullJid, status: Option<&str>, cx: &mut Cx) {
	remove_occupant(name, jid, cx, |room| room.leave(jid, status));
}

/// An error came back from (or for) an occupant's real JID: it cannot be
/// reached, so it leaves the room (XEP-0045 status 333) instead of
/// lingering after its server went away.
pub fn unreachable(room: &Jid, real: &FullJid, cx: &mut Cx) {
	if let Some(name) = room.node() {
		remove_occupant(name, real, cx, |room| room.drop_unreachable(real));
	}
}

/// The session `jid` leaves room `name` the way `how` says (the occupant
/// goes with its last session); a temporary room goes with its last occupant.
fn remove_occupant(name: &str, jid: &FullJid, cx: &mut Cx, how: impl FnOnce(&mut Room) -> Vec<Element>) {
	let mut svc = cx.server.muc.borrow_mut();
	let Some(room) = svc.rooms.get_mut(name) else { return };
	if room.by_jid(jid.as_str()).is_none() {
		return;
	}
	let out = how(room);
	let gone = room.occupants.is_empty() && !room.config.persistent;
	if gone {
		svc.rooms.remove(name);
		let name = name.to_owned();
		cx.write(move |tx| tx.delete_muc_room(&name).map(|_| Vec::new()));
	}
	drop(svc);
	send(cx, out);
}

/// A session went unavailable or away: it leaves every room it is in.
pub fn gone(server: &Server, jid: &FullJid, cx: &mut Cx) {
	let names: Vec<String> =
		server.muc.borrow().rooms.iter().filter(|(_, r)| r.by_jid(jid.as_str()).is_some()).map(|(n, _)| n.clone()).collect();
	for name in names {
		leave(&name, jid, None, cx);
	}
}

fn message(stanza: &Stanza, t: MessageType, to: &Jid, cx: &mut Cx) {
	if t == MessageType::Error {
		return;
	}
	if let Err(e) = message_inner(stanza, t, to, cx) {
		cx.reply(stanza.error_reply(&e));
	}
}

fn message_inner(stanza: &Stanza, t: MessageType, to: &Jid, cx: &mut Cx) -> Result<(), StanzaError> {
	let name = to.node().ok_or(Condition::ServiceUnavailable)?.to_owned();
	let keep = (cx.server.config.limits.muc_history_messages, cx.server.config.limits.muc_history_bytes);
	let max_archive = crate::features::mam::quota(&cx.server.config.limits);
	let mut id = [0u8; 12];
	cx.server.random(&mut id);
	let id = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id);
	let mut svc = cx.server.muc.borrow_mut();
	let room = svc.rooms.get_mut(&name).ok_or_else(no_such_room)?;
	let me = room.by_jid(cx.jid.as_str());
	let user_x = stanza.el.child("x", ns::MUC_USER);
	match (to.resource(), t) {
		(None, MessageType::Groupchat) => {
			let i = me.ok_or_else(join_first)?;
			let subject_before = room.subject.clone();
			let now = micros_now();
			let (archived, out) = room.groupchat(i, &stanza.el, &id, now, keep)?;
			let subject_changed = room.subject != subject_before;
			if subject_changed {
				persist(room, cx);
			}
			drop(svc);
			// The same rule as the join history's.
			if super::mam::worth_keeping(&archived) {
				let (key, with, xml) =
					(format!("muc:{name}"), archived.attr("from").unwrap_or_default().to_owned(), archived.to_xml(ns::CLIENT));
				cx.record(move |tx| tx.archive(&key, &id, now, &with, &xml, max_archive).map(|_| Vec::new()));
			}
			send(cx, out);
		}
		(None, MessageType::Normal) if requests::request_form(&stanza.el).is_some() => {
			let form = requests::request_form(&stanza.el).expect("checked");
			requests::voice(room, me, &form, cx)?;
		}
		(None, _) if user_x.is_some_and(|x| x.child("invite", ns::MUC_USER).is_some()) => {
			let i = me.ok_or_else(join_first)?;
			let invite = user_x.and_then(|x| x.child("invite", ns::MUC_USER)).expect("checked");
			let invitee = invite.attr("to").and_then(|j| Jid::parse(j).ok()).ok_or(Condition::JidMalformed)?;
			let inviter_aff = room.affiliation(cx.jid.to_bare().as_str());
			if room.config.members_only {
				if inviter_aff < Affiliation::Admin && !room.config.allow_invites {
					return Err(StanzaError::with_text(Condition::Forbidden, "only admins may invite to this room"));
				}
				let bare = invitee.to_bare().as_str().to_owned();
				if room.affiliation(&bare) < Affiliation::Member && room.affiliation(&bare) != Affiliation::Outcast {
					room.affiliations.insert(bare, Affiliation::Member);
					persist(room, cx);
				}
			}
			let _ = i;
			let mut inv = Element::new("invite", ns::MUC_USER).with_attr("from", cx.jid.as_str());
			if let Some(r) = invite.child("reason", ns::MUC_USER) {
				inv.push(r.clone());
			}
			let mut x = Element::new("x", ns::MUC_USER).with_child(inv);
			if let Some(pw) = &room.config.password {
				x.push(Element::new("password", ns::MUC_USER).with_text(pw.as_str()));
			}
			let body = format!("{} invites you to the room {}", cx.jid.to_bare().as_str(), room.jid);
			let m = Element::new("message", ns::CLIENT)
				.with_attr("from", room.jid.as_str())
				.with_attr("to", invitee.as_str())
				.with_child(x)
				.with_child(Element::new("body", ns::CLIENT).with_text(body));
			drop(svc);
			send(cx, vec![m]);
		}
		(None, _) if user_x.is_some_and(|x| x.child("decline", ns::MUC_USER).is_some()) => {
			let decline = user_x.and_then(|x| x.child("decline", ns::MUC_USER)).expect("checked");
			let to = decline.attr("to").and_then(|j| Jid::parse(j).ok()).ok_or(Condition::JidMalformed)?;
			let mut d = Element::new("decline", ns::MUC_USER).with_attr("from", cx.jid.to_bare().as_str());
			if let Some(r) = decline.child("reason", ns::MUC_USER) {
				d.push(r.clone());
			}
			let m = Element::new("message", ns::CLIENT)
				.with_attr("from", room.jid.as_str())
				.with_attr("to", to.as_str())
				.with_child(Element::new("x", ns::MUC_USER).with_child(d));
			drop(svc);
			send(cx, vec![m]);
		}
		(Some(nick), MessageType::Chat | MessageType::Normal) => {
			let i = me.ok_or_else(join_first)?;
			let copies = room.private(i, nick, &stanza.el)?;
			drop(svc);
			send(cx, copies);
		}
		_ => return Err(StanzaError::with_text(Condition::BadRequest, "not a message a room takes")),
	}
	Ok(())
}

fn iq(stanza: &Stanza, t: IqType, to: &Jid, cx: &mut Cx) {
	if matches!(t, IqType::Result | IqType::Error) {
		// An occupant's answer to an iq another occupant sent it through the room.
		if let (Some(name), Some(nick)) = (to.node(), to.resource()) {
			let _ = forward_to_occupant(stanza, name, nick, cx);
		}
		return;
	}
	if let Err(e) = iq_inner(stanza, t, to, cx) {
		cx.reply(stanza.error_reply(&e));
	}
}

fn occupant_vcard(stanza: &Stanza, name: &str, nick: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	let user = {
		let svc = cx.server.muc.borrow();
		let room = svc.rooms.get(name).ok_or_else(no_such_room)?;
		let target = room.by_nick(nick).ok_or_else(no_such_occupant)?;
		let jid = room.occupants[target].jid();
		if jid.domain() != cx.domain() {
			// Its own server has it: asked from the asker's occupant JID, so
			// the answer comes back through the room (see forward_to_occupant).
			let asker = room.by_jid(cx.jid.as_str()).ok_or_else(join_first)?;
			let mut el = stanza.el.clone();
			el.set_attr("from", format!("{}/{}", room.jid, room.occupants[asker].nick));
			el.set_attr("to", jid.to_bare().as_str());
			drop(svc);
			send(cx, vec![el]);
			return Ok(());
		}
		jid.node().unwrap_or_default().to_owned()
	};
	let card = super::vcard::card_of(&user, cx)?;
	cx.reply(stanza.iq_result().with_child(card));
	Ok(())
}

/// No room has this address. Said in words: Gajim's "Start chat" shows only
/// an error's text, and its "Create group chat" takes this to mean the
/// address is free (it then joins it, which makes the room).
pub(super) fn no_such_room() -> StanzaError {
	StanzaError::with_text(Condition::ItemNotFound, "there is no room at this address (joining it makes it)")
}

fn no_such_occupant() -> StanzaError {
	StanzaError::with_text(Condition::ItemNotFound, "no such occupant")
}

pub(super) fn join_first() -> StanzaError {
	StanzaError::with_text(Condition::NotAcceptable, "join the room first")
}

/// Sends an iq on to the occupant `nick`, from the sender's occupant JID
/// (XEP-0045 §7.7: real JIDs stay hidden).
fn forward_to_occupant(stanza: &Stanza, name: &str, nick: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	let svc = cx.server.muc.borrow();
	let room = svc.rooms.get(name).ok_or_else(no_such_room)?;
	let from = room
		.by_jid(cx.jid.as_str())
		// A remote occupant's vCard is answered by its account's bare JID.
		.or_else(|| stanza.is_error_or_result().then(|| room.by_bare_jid(cx.jid.to_bare().as_str())).flatten())
		.ok_or_else(join_first)?;
	let target = room.by_nick(nick).ok_or_else(no_such_occupant)?;
	let mut el = stanza.el.clone();
	el.set_attr("from", format!("{}/{}", room.jid, room.occupants[from].nick));
	// An occupant in from several sessions is asked at the one others see.
	el.set_attr("to", room.occupants[target].jid().as_str());
	drop(svc);
	send(cx, vec![el]);
	Ok(())
}

fn iq_inner(stanza: &Stanza, t: IqType, to: &Jid, cx: &mut Cx) -> Result<(), StanzaError> {
	let payload = stanza.payload().ok_or(Condition::BadRequest)?;
	let (ns_, name) = (payload.ns().to_owned(), payload.name().to_owned());
	let Some(room_name) = to.node().map(str::to_owned) else {
		return service_iq(stanza, t, &ns_, cx);
	};
	if let Some(nick) = to.resource() {
		// XEP-0410: a ping to one's own occupant JID says whether one is still in.
		if t == IqType::Get && ns_ == ns::PING {
			let svc = cx.server.muc.borrow();
			let joined = svc.rooms.get(&room_name).and_then(|r| r.by_jid(cx.jid.as_str()).map(|i| r.occupants[i].nick == nick));
			return match joined {
				Some(true) => {
					drop(svc);
					cx.reply(stanza.iq_result());
					Ok(())
				}
				_ => Err(StanzaError::with_text(Condition::NotAcceptable, "not in the room")),
			};
		}
		// XEP-0045 §7.7 / XEP-0054: an occupant's vCard, answered by the room
		// for the occupant's account (its real JID stays hidden).
		if t == IqType::Get && ns_ == ns::VCARD {
			return occupant_vcard(stanza, &room_name, nick, cx);
		}
		return forward_to_occupant(stanza, &room_name, nick, cx);
	}
	match (t, ns_.as_str(), name.as_str()) {
		(IqType::Get, ns::DISCO_INFO, "query") if payload.attr("node") == Some("x-roomuser-item") => {
			let svc = cx.server.muc.borrow();
			let room = svc.rooms.get(&room_name).ok_or_else(no_such_room)?;
			requests::reserved_nick(stanza, room, cx);
			Ok(())
		}
		(IqType::Get, ns::DISCO_INFO, "query") => room_info(stanza, &room_name, cx),
		(IqType::Get, ns::VCARD, "vCard") => avatar::get(stanza, &room_name, cx),
		(IqType::Set, ns::VCARD, "vCard") => avatar::set(stanza, &room_name, cx),
		(_, ns::REGISTER, "query") => {
			let mut svc = cx.server.muc.borrow_mut();
			let room = svc.rooms.get_mut(&room_name).ok_or_else(no_such_room)?;
			requests::register(stanza, t, room, cx)
		}
		(IqType::Get, ns::DISCO_ITEMS, "query") => {
			if !cx.server.muc.borrow().rooms.contains_key(&room_name) {
				return Err(no_such_room());
			}
			cx.reply(stanza.iq_result().with_child(Element::new("query", ns::DISCO_ITEMS)));
			Ok(())
		}
		(IqType::Get, ns::PING, "ping") => {
			cx.reply(stanza.iq_result());
			Ok(())
		}
		(_, ns::MUC_OWNER, "query") => owner(stanza, t, &room_name, cx),
		(_, ns::MUC_ADMIN, "query") => admin(stanza, t, &room_name, cx),
		(IqType::Set, ns::MAM, "query") => room_archive(stanza, &room_name, cx),
		_ => Err(StanzaError::new(Condition::ServiceUnavailable)),
	}
}

fn service_iq(stanza: &Stanza, t: IqType, payload_ns: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	match (t, payload_ns) {
		(IqType::Get, ns::DISCO_INFO) => {
			let q = super::disco::service_info("conference", "text", "Rooms", &[ns::MUC, ns::DISCO_INFO, ns::DISCO_ITEMS]);
			cx.reply(stanza.iq_result().with_child(q));
			Ok(())
		}
		(IqType::Get, ns::DISCO_ITEMS) => {
			// Public rooms only (hidden ones are not listed, §6.3).
			let mut q = Element::new("query", ns::DISCO_ITEMS);
			let svc = cx.server.muc.borrow();
			let mut rooms: Vec<&Room> = svc.rooms.values().filter(|r| !r.config.hidden).collect();
			rooms.sort_by(|a, b| a.name.cmp(&b.name));
			for r in rooms {
				let title = if r.config.title.is_empty() { r.name.as_str() } else { r.config.title.as_str() };
				q.push(Element::new("item", ns::DISCO_ITEMS).with_attr("jid", r.jid.as_str()).with_attr("name", title));
			}
			drop(svc);
			cx.reply(stanza.iq_result().with_child(q));
			Ok(())
		}
		(IqType::Get, ns::PING) => {
			cx.reply(stanza.iq_result());
			Ok(())
		}
		_ => Err(StanzaError::new(Condition::ServiceUnavailable)),
	}
}

fn room_info(stanza: &Stanza, name: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	let svc = cx.server.muc.borrow();
	let room = svc.rooms.get(name).ok_or_else(no_such_room)?;
	let title = if room.config.title.is_empty() { room.name.as_str() } else { room.config.title.as_str() };
	let mut q = Element::new("query", ns::DISCO_INFO).with_child(
		Element::new("identity", ns::DISCO_INFO).with_attr("category", "conference").with_attr("type", "text").with_attr("name", title),
	);
	for f in config::features(&room.config) {
		q.push(Element::new("feature", ns::DISCO_INFO).with_attr("var", f));
	}
	q.push(config::info(&room.config, room.occupants.len(), room.subject.as_ref().map(|(s, _)| s.as_str()), &avatar::hashes(room)));
	drop(svc);
	cx.reply(stanza.iq_result().with_child(q));
	Ok(())
}

/// XEP-0045 §10: configuration and destruction, owners only.
fn owner(stanza: &Stanza, t: IqType, name: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	let limit = cx.server.config.limits.muc_max_occupants;
	let mut svc = cx.server.muc.borrow_mut();
	let room = svc.rooms.get_mut(name).ok_or_else(no_such_room)?;
	if room.affiliation(cx.jid.to_bare().as_str()) != Affiliation::Owner {
		return Err(StanzaError::with_text(Condition::Forbidden, "owners only"));
	}
	let q = stanza.payload().ok_or(Condition::BadRequest)?;
	if t == IqType::Get {
		let form = config::form(&room.config);
		drop(svc);
		cx.reply(stanza.iq_result().with_child(Element::new("query", ns::MUC_OWNER).with_child(form)));
		return Ok(());
	}
	if let Some(d) = q.child("destroy", ns::MUC_OWNER) {
		let reason = d.child("reason", ns::MUC_OWNER).map(Element::text);
		let out = room.destroy(reason.as_deref(), d.attr("jid"));
		svc.rooms.remove(name);
		drop(svc);
		let name = name.to_owned();
		cx.write(move |tx| tx.delete_muc_room(&name).map(|_| Vec::new()));
		cx.reply(stanza.iq_result());
		send(cx, out);
		return Ok(());
	}
	let x = q.child("x", ns::DATA_FORMS).ok_or(Condition::BadRequest)?;
	if x.attr("type") == Some("cancel") {
		drop(svc);
		cx.reply(stanza.iq_result());
		return Ok(());
	}
	let was_persistent = room.config.persistent;
	room.config = config::apply(x, &room.config, limit)?;
	let mut out = Vec::new();
	if room.config.members_only {
		// Non-members leave a room that became members-only (§10.2, status 321).
		let actor = cx.jid.to_bare().as_str().to_owned();
		let outsiders: Vec<String> =
			room.occupants.iter().map(|o| o.bare().as_str().to_owned()).filter(|b| room.affiliation(b) < Affiliation::Member).collect();
		for b in outsiders {
			out.extend(room.set_affiliation(&actor, &b, Affiliation::None, None).unwrap_or_default());
		}
	}
	out.extend(room.notice(&[104]));
	if room.config.persistent {
		persist(room, cx);
	} else if was_persistent {
		let n = name.to_owned();
		cx.write(move |tx| tx.delete_muc_room(&n).map(|_| Vec::new()));
	}
	let empty_temporary = room.occupants.is_empty() && !room.config.persistent;
	if empty_temporary {
		svc.rooms.remove(name);
	}
	drop(svc);
	cx.reply(stanza.iq_result());
	send(cx, out);
	Ok(())
}

/// XEP-0045 §8 and §9: roles by nick (moderators), affiliations by JID
/// (admins and owners), and the lists.
fn admin(stanza: &Stanza, t: IqType, name: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	let mut svc = cx.server.muc.borrow_mut();
	let room = svc.rooms.get_mut(name).ok_or_else(no_such_room)?;
	let q = stanza.payload().ok_or(Condition::BadRequest)?;
	let actor_bare = cx.jid.to_bare().as_str().to_owned();
	let actor_aff = room.affiliation(&actor_bare);
	let me = room.by_jid(cx.jid.as_str());
	if t == IqType::Get {
		let item = q.child("item", ns::MUC_ADMIN).ok_or(Condition::BadRequest)?;
		let mut list = Element::new("query", ns::MUC_ADMIN);
		if let Some(aff) = item.attr("affiliation").and_then(Affiliation::parse) {
			if actor_aff < Affiliation::Admin && !(aff == Affiliation::Member && actor_aff == Affiliation::Member) {
				return Err(StanzaError::with_text(Condition::Forbidden, "admins only"));
			}
			for (j, a) in room.affiliations.iter().filter(|(_, a)| **a == aff) {
				list.push(Element::new("item", ns::MUC_ADMIN).with_attr("jid", j.as_str()).with_attr("affiliation", a.as_str()));
			}
		} else if let Some(role) = item.attr("role").and_then(Role::parse) {
			if me.is_none_or(|i| room.occupants[i].role != Role::Moderator) {
				return Err(StanzaError::with_text(Condition::Forbidden, "moderators only"));
			}
			for o in room.occupants.iter().filter(|o| o.role == role) {
				list.push(
					Element::new("item", ns::MUC_ADMIN)
						.with_attr("nick", o.nick.as_str())
						.with_attr("role", o.role.as_str())
						.with_attr("jid", o.jid().as_str()),
				);
			}
		} else {
			return Err(StanzaError::new(Condition::BadRequest));
		}
		drop(svc);
		cx.reply(stanza.iq_result().with_child(list));
		return Ok(());
	}
	let mut out = Vec::new();
	let mut affiliations_changed = false;
	for item in q.children().filter(|c| c.is("item", ns::MUC_ADMIN)) {
		let reason = item.child("reason", ns::MUC_ADMIN).map(Element::text);
		if let (Some(nick), Some(role)) = (item.attr("nick"), item.attr("role")) {
			let role = Role::parse(role).ok_or(Condition::BadRequest)?;
			let i = me.ok_or_else(|| StanzaError::with_text(Condition::Forbidden, "join the room first"))?;
			out.extend(room.set_role(i, nick, role, reason.as_deref())?);
		} else if let (Some(jid), Some(aff)) = (item.attr("jid"), item.attr("affiliation")) {
			let aff = Affiliation::parse(aff).ok_or(Condition::BadRequest)?;
			let jid = Jid::parse(jid).map_err(|_| StanzaError::new(Condition::JidMalformed))?.to_bare();
			out.extend(room.set_affiliation(&actor_bare, jid.as_str(), aff, reason.as_deref())?);
			affiliations_changed = true;
		} else {
			return Err(StanzaError::new(Condition::BadRequest));
		}
	}
	if affiliations_changed {
		persist(room, cx);
	}
	drop(svc);
	cx.reply(stanza.iq_result());
	send(cx, out);
	Ok(())
}

/// XEP-0313 on a room: anyone may read the archive of an open room (as
/// anyone may join it; poezio asks before joining), occupants and members
/// that of a members-only or password-protected one; never the banned.
fn room_archive(stanza: &Stanza, name: &str, cx: &mut Cx) -> Result<(), StanzaError> {
	let svc = cx.server.muc.borrow();
	let room = svc.rooms.get(name).ok_or_else(no_such_room)?;
	if let Err(why) = room.may_read_archive(cx.jid) {
		log::info!("{}: room archive of {} refused: {why}", cx.jid, room.jid);
		return Err(StanzaError::with_text(Condition::Forbidden, why));
	}
	let jid = room.jid.clone();
	drop(svc);
	super::mam::run_query(stanza, cx, format!("muc:{name}"), jid)
}
