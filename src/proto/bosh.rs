//! BOSH (XEP-0124) carrying XMPP (XEP-0206), sans-IO: what a `<body/>`
//! says, and one HTTP session's state — the request ids (`rid`) taken in
//! order within the window, the requests held (at most `hold`, the oldest
//! answered at once past it), the last responses (a client whose
//! connection broke sends the same `rid` again, §14.3), what waits for the
//! client, and when the session has been inactive. The shell (`net::bosh`)
//! moves the bytes. A held request is known by its `rid`.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::xmpp::element::{Element, escape_attr};
use crate::xmpp::ns;
use crate::xmpp::reader::{StreamEvent, XmlLimits, parse_stored};

pub const NS: &str = "http://jabber.org/protocol/httpbind";
pub const XBOSH: &str = "urn:xmpp:xbosh";
/// The XEP-0124 version we speak.
pub const VERSION: &str = "1.11";
/// Seconds announced as the shortest polling interval.
pub const POLLING: u64 = 2;
/// Times in a row a client may send a `rid` again before the session ends
/// with `policy-violation` (§14.3: a repeat must not be a way around polling).
pub const MAX_REPEATS: u32 = 8;

/// Why a session ends (XEP-0124 §17 terminal conditions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
	BadRequest,
	HostUnknown,
	ItemNotFound,
	PolicyViolation,
	RemoteStreamError,
}

impl Condition {
	pub fn as_str(self) -> &'static str {
		match self {
			Condition::BadRequest => "bad-request",
			Condition::HostUnknown => "host-unknown",
			Condition::ItemNotFound => "item-not-found",
			Condition::PolicyViolation => "policy-violation",
			Condition::RemoteStreamError => "remote-stream-error",
		}
	}
}

/// One request's `<body/>`.
#[derive(Debug, Default)]
pub struct Body {
	pub rid: u64,
	pub sid: Option<String>,
	pub to: Option<String>,
	pub wait: Option<u64>,
	pub hold: Option<u64>,
	pub restart: bool,
	pub terminate: bool,
	/// The stanzas inside, as bytes of a `jabber:client` stream.
	pub payload: String,
}

/// Reads a request body; `bad-request` if it is not a BOSH `<body/>` with a `rid`.
pub fn parse(text: &str, limits: XmlLimits) -> Result<Body, Condition> {
	// A body must name its namespace; what it holds is jabber:client (XEP-0206 §7).
	let el = parse_stored(text, ns::CLIENT, limits).ok_or(Condition::BadRequest)?;
	if !el.is("body", NS) {
		return Err(Condition::BadRequest);
	}
	let number = |name: &str| el.attr(name).map(|v| v.parse::<u64>().map_err(|_| Condition::BadRequest)).transpose();
	let rid = number("rid")?.ok_or(Condition::BadRequest)?;
	let mut payload = String::new();
	for child in el.children() {
		payload.push_str(&child.to_xml(ns::CLIENT));
	}
	Ok(Body {
		rid,
		sid: el.attr("sid").map(str::to_owned),
		to: el.attr("to").map(str::to_owned),
		wait: number("wait")?,
		hold: number("hold")?,
		restart: matches!(el.attr(&format!("{{{XBOSH}}}restart")), Some("true" | "1")),
		terminate: el.attr("type") == Some("terminate"),
		payload,
	})
}

/// The bounds a session is made within (settings `bosh_*`).
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
	pub max_wait: Duration,
	pub max_hold: usize,
	pub inactivity: Duration,
}

/// What the stream core is to be fed for a request, in order.
#[derive(Debug, PartialEq)]
pub enum Input {
	Bytes(String),
	/// `xmpp:restart`: a new stream header.
	Restart,
	/// `type='terminate'`: the end of the stream.
	End,
}

/// A request taken: feed `input`, wait as `ticket` (its rid); `released`,
/// if any, is an older held request to answer at once.
#[derive(Debug)]
pub struct Taken {
	pub input: Vec<Input>,
	pub ticket: u64,
	pub released: Option<u64>,
}

/// What to do with a request of a session.
#[derive(Debug)]
pub enum Request {
	/// A new one.
	Taken(Taken),
	/// A `rid` answered already: this response again (§14.3).
	Resend(String),
	/// A `rid` still held: the request waiting for it answers at once with a
	/// recoverable error, and this one waits in its place (§14.3).
	Supersede(u64),
}

#[derive(Debug)]
pub struct Session {
	pub sid: String,
	pub wait: Duration,
	pub hold: usize,
	pub inactivity: Duration,
	/// The highest rid taken in order.
	last_rid: u64,
	/// Requests that came ahead of their turn (at most the window).
	early: BTreeMap<u64, Vec<Input>>,
	/// Held requests by rid, oldest first.
	held: VecDeque<u64>,
	/// The last `requests()` responses by rid, and their bytes.
	sent: VecDeque<(u64, String)>,
	sent_bytes: usize,
	/// Requests in a row that repeated a rid.
	repeats: u32,
	/// Elements for the client, and their bytes.
	out: Vec<String>,
	out_bytes: usize,
	/// The session's end, once known; nothing more is taken.
	pub ended: Option<Option<Condition>>,
	/// When the last held request was answered (None while one is held).
	idle_since: Option<Instant>,
}

impl Session {
	/// A session for the creation request `body` (its rid is the first).
	pub fn new(sid: String, body: &Body, b: Bounds) -> (Session, u64) {
		let wait = Duration::from_secs(body.wait.unwrap_or(b.max_wait.as_secs())).min(b.max_wait);
		let hold = usize::try_from(body.hold.unwrap_or(1)).unwrap_or(usize::MAX).min(b.max_hold);
		let mut s = Session {
			sid,
			wait,
			hold,
			inactivity: b.inactivity,
			last_rid: body.rid,
			early: BTreeMap::new(),
			held: VecDeque::new(),
			sent: VecDeque::new(),
			sent_bytes: 0,
			repeats: 0,
			out: Vec::new(),
			out_bytes: 0,
			ended: None,
			idle_since: None,
		};
		let ticket = s.hold_one(body.rid).0;
		(s, ticket)
	}

	/// Requests the client may have open at once (XEP-0124 §7.1).
	pub fn requests(&self) -> usize {
		self.hold + 1
	}

	fn hold_one(&mut self, rid: u64) -> (u64, Option<u64>) {
		self.held.push_back(rid);
		self.idle_since = None;
		// Past `hold`, the oldest is answered at once (§10); with hold 0 that is this one.
		let released = if self.held.len() > self.hold { self.held.pop_front() } else { None };
		(rid, released)
	}

	/// Takes a request of this session, or the condition that ends it: a
	/// rid beyond the window, or seen and no longer remembered, is
	/// `item-not-found` (§14.3, the same either way).
	pub fn request(&mut self, body: Body) -> Result<Request, Condition> {
		let window = self.last_rid.saturating_add(self.requests() as u64);
		if body.rid <= self.last_rid || self.early.contains_key(&body.rid) {
			self.repeats += 1;
			if self.repeats > MAX_REPEATS {
				return Err(Condition::PolicyViolation);
			}
			if self.held.contains(&body.rid) {
				return Ok(Request::Supersede(body.rid));
			}
			return match self.sent.iter().find(|(rid, _)| *rid == body.rid) {
				Some((_, text)) => Ok(Request::Resend(text.clone())),
				None => Err(Condition::ItemNotFound),
			};
		}
		if body.rid > window {
			return Err(Condition::ItemNotFound);
		}
		self.repeats = 0;
		let mut input = Vec::new();
		if body.restart {
			input.push(Input::Restart);
		}
		if !body.payload.is_empty() {
			input.push(Input::Bytes(body.payload));
		}
		if body.terminate {
			input.push(Input::End);
		}
		self.early.insert(body.rid, input);
		let mut ready = Vec::new();
		while let Some(next) = self.early.remove(&(self.last_rid + 1)) {
			self.last_rid += 1;
			ready.extend(next);
		}
		let (ticket, released) = self.hold_one(body.rid);
		Ok(Request::Taken(Taken { input: ready, ticket, released }))
	}

	/// Keeps the response to `rid` for a repeat, with the last `requests()`.
	pub fn remember(&mut self, rid: u64, text: String) {
		self.sent_bytes += text.len();
		self.sent.push_back((rid, text));
		while self.sent.len() > self.requests() {
			if let Some((_, old)) = self.sent.pop_front() {
				self.sent_bytes -= old.len();
			}
		}
	}

	/// Bytes of the responses kept (the shell charges them to the budget).
	pub fn sent_bytes(&self) -> usize {
		self.sent_bytes
	}

	/// Forgets the kept responses (the budget could not take them): a
	/// repeat then ends the session with `item-not-found`.
	pub fn forget_sent(&mut self) {
		self.sent.clear();
		self.sent_bytes = 0;
	}

	/// Whether `ticket` still waits to be answered.
	pub fn is_held(&self, ticket: u64) -> bool {
		self.held.contains(&ticket)
	}

	/// The held request that gets data first (the oldest).
	pub fn first_held(&self) -> Option<u64> {
		self.held.front().copied()
	}

	/// `ticket` was answered.
	pub fn answered(&mut self, ticket: u64, now: Instant) {
		self.held.retain(|t| *t != ticket);
		if self.held.is_empty() {
			self.idle_since = Some(now);
		}
	}

	/// When the session ends for inactivity, if no request comes first.
	pub fn inactive_at(&self) -> Option<Instant> {
		self.idle_since.map(|t| t + self.inactivity)
	}

	pub fn push_out(&mut self, element: String) {
		self.out_bytes += element.len();
		self.out.push(element);
	}

	pub fn out_bytes(&self) -> usize {
		self.out_bytes
	}

	pub fn take_out(&mut self) -> Vec<String> {
		self.out_bytes = 0;
		std::mem::take(&mut self.out)
	}
}

/// The stream header the core reads at the start and at each restart.
pub fn stream_header(to: &str) -> String {
	format!(
		"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='{}' to='{}' version='1.0'>",
		ns::STREAM,
		escape_attr(to)
	)
}

/// One event of the core's output as an element for a `<body/>` (None:
/// nothing to send); a stream error says the session ends with it.
pub fn outbound(ev: StreamEvent) -> Outbound {
	match ev {
		StreamEvent::Header(_) => Outbound::Nothing,
		StreamEvent::End => Outbound::End,
		StreamEvent::Stanza(el) if el.ns() == ns::STREAM => {
			let error = el.name() == "error";
			let mut s = format!("<stream:{}>", el.name());
			for child in el.children() {
				s.push_str(&child.to_xml(""));
			}
			s.push_str(&format!("</stream:{}>", el.name()));
			if error { Outbound::Error(s) } else { Outbound::Element(s) }
		}
		StreamEvent::Stanza(el) => Outbound::Element(stanza_xml(&el)),
	}
}

fn stanza_xml(el: &Element) -> String {
	el.to_xml("")
}

#[derive(Debug, PartialEq)]
pub enum Outbound {
	Nothing,
	Element(String),
	/// A stream error: the session ends with `remote-stream-error`.
	Error(String),
	End,
}

/// The attributes of the session creation response (§7.1, XEP-0206 §5).
pub struct Created<'a> {
	pub domain: &'a str,
	pub authid: &'a str,
}

/// A response `<body/>`: the elements, the creation attributes for the
/// first one, and the end of the session if it has come.
pub fn response(s: &Session, created: Option<Created>, elements: &[String], end: Option<Option<Condition>>) -> String {
	let mut b = format!("<body xmlns='{NS}' xmlns:stream='{}'", ns::STREAM);
	if let Some(c) = created {
		b.push_str(&format!(
			" sid='{}' wait='{}' requests='{}' hold='{}' inactivity='{}' polling='{POLLING}' ver='{VERSION}' from='{}' authid='{}' \
			 secure='true' xmlns:xmpp='{XBOSH}' xmpp:version='1.0' xmpp:restartlogic='true'",
			escape_attr(&s.sid),
			s.wait.as_secs(),
			s.requests(),
			s.hold,
			s.inactivity.as_secs(),
			escape_attr(c.domain),
			escape_attr(c.authid)
		));
	}
	match end {
		Some(Some(condition)) => b.push_str(&format!(" type='terminate' condition='{}'", condition.as_str())),
		Some(None) => b.push_str(" type='terminate'"),
		None => {}
	}
	if elements.is_empty() {
		b.push_str("/>");
		return b;
	}
	b.push('>');
	for e in elements {
		b.push_str(e);
	}
	b.push_str("</body>");
	b
}

/// The answer to a held request another with its rid replaced: a
/// recoverable binding error (§17.2), after which the client goes on.
pub fn recoverable() -> String {
	format!("<body xmlns='{NS}' type='error'/>")
}

/// A `<body/>` ending a session that is not (or no longer) there.
pub fn terminate(condition: Condition) -> String {
	format!("<body xmlns='{NS}' type='terminate' condition='{}'/>", condition.as_str())
}

#[cfg(test)]
mod tests {
	use super::*;

	const LIMITS: XmlLimits = XmlLimits { max_stanza_bytes: 1 << 16, max_depth: 10, max_attrs: 20, max_elements: 100 };
	const BOUNDS: Bounds = Bounds { max_wait: Duration::from_secs(60), max_hold: 1, inactivity: Duration::from_secs(30) };

	fn body(rid: u64, payload: &str) -> Body {
		Body { rid, sid: Some("s".into()), payload: payload.into(), ..Body::default() }
	}

	#[test]
	fn reads_bodies() {
		let b = parse(
			"<body xmlns='http://jabber.org/protocol/httpbind' rid='10' to='a.test' wait='600' hold='5' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'/>",
			LIMITS,
		)
		.unwrap();
		assert_eq!((b.rid, b.to.as_deref(), b.wait, b.hold, b.sid), (10, Some("a.test"), Some(600), Some(5), None));
		let b = parse(
			"<body xmlns='http://jabber.org/protocol/httpbind' rid='11' sid='x' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'>\
			 <message xmlns='jabber:client' to='b@a.test'><body>hi</body></message><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></body>",
			LIMITS,
		)
		.unwrap();
		assert!(b.restart && !b.terminate);
		assert_eq!(b.payload, "<message to='b@a.test'><body>hi</body></message><auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
		for bad in [
			"<body xmlns='http://jabber.org/protocol/httpbind'/>",
			"<body rid='1'/>",
			"<x",
			"<body xmlns='http://jabber.org/protocol/httpbind' rid='-1'/>",
		] {
			assert_eq!(parse(bad, LIMITS).err(), Some(Condition::BadRequest), "{bad}");
		}
	}

	#[test]
	fn bounds_are_applied_at_creation() {
		let create = Body { rid: 100, wait: Some(600), hold: Some(5), ..Body::default() };
		let (s, _) = Session::new("s".into(), &create, BOUNDS);
		assert_eq!((s.wait, s.hold, s.requests()), (Duration::from_secs(60), 1, 2));
		let r = response(&s, Some(Created { domain: "a.test", authid: "id" }), &[], None);
		assert!(r.contains("wait='60' requests='2' hold='1' inactivity='30'") && r.ends_with("/>"), "{r}");
	}

	#[test]
	fn rids_in_order_within_the_window() {
		let (mut s, first) = Session::new("s".into(), &Body { rid: 100, ..Body::default() }, BOUNDS);
		// rid 102 comes before 101: held back until 101 is in.
		let t = taken(s.request(body(102, "<b/>")));
		assert!(t.input.is_empty());
		assert_eq!(t.released, Some(first), "hold 1: the older request is answered");
		let t2 = taken(s.request(body(101, "<a/>")));
		assert_eq!(t2.input, vec![Input::Bytes("<a/>".into()), Input::Bytes("<b/>".into())]);
		assert_eq!(t2.released, Some(t.ticket));
		// Still held: the new copy takes its place; beyond the window (last
		// 102, requests 2): item-not-found.
		assert!(matches!(s.request(body(101, "")), Ok(Request::Supersede(101))));
		// Released (answered by the shell) but not remembered: gone.
		assert_eq!(s.request(body(102, "")).err(), Some(Condition::ItemNotFound));
		assert_eq!(s.request(body(105, "")).err(), Some(Condition::ItemNotFound));
		assert!(s.request(body(103, "")).is_ok());
	}

	fn taken(r: Result<Request, Condition>) -> Taken {
		match r {
			Ok(Request::Taken(t)) => t,
			other => panic!("not taken: {other:?}"),
		}
	}

	#[test]
	fn a_repeated_rid_gets_its_response_again_while_remembered() {
		let (mut s, first) = Session::new("s".into(), &Body { rid: 100, ..Body::default() }, BOUNDS);
		s.answered(first, Instant::now());
		s.remember(first, "<body n='100'/>".into());
		let t = taken(s.request(body(101, "<a/>")));
		s.answered(t.ticket, Instant::now());
		s.remember(t.ticket, "<body n='101'/>".into());
		assert!(matches!(s.request(body(101, "<a/>")), Ok(Request::Resend(r)) if r == "<body n='101'/>"));
		assert!(matches!(s.request(body(100, "")), Ok(Request::Resend(r)) if r == "<body n='100'/>"));
		// Only the last `requests()` (2) are kept.
		for rid in 102..104 {
			let t = taken(s.request(body(rid, "")));
			s.answered(t.ticket, Instant::now());
			s.remember(t.ticket, format!("<body n='{rid}'/>"));
		}
		assert_eq!(s.sent_bytes(), 2 * "<body n='102'/>".len());
		assert_eq!(s.request(body(101, "")).err(), Some(Condition::ItemNotFound));
		s.forget_sent();
		assert_eq!(s.request(body(103, "")).err(), Some(Condition::ItemNotFound));
	}

	#[test]
	fn repeating_a_rid_without_end_is_a_policy_violation() {
		let (mut s, first) = Session::new("s".into(), &Body { rid: 1, ..Body::default() }, BOUNDS);
		s.answered(first, Instant::now());
		s.remember(first, "<body/>".into());
		for _ in 0..MAX_REPEATS {
			assert!(matches!(s.request(body(1, "")), Ok(Request::Resend(_))));
		}
		assert_eq!(s.request(body(1, "")).err(), Some(Condition::PolicyViolation));
		// A new rid in between starts the count again.
		let (mut s, first) = Session::new("s".into(), &Body { rid: 1, ..Body::default() }, BOUNDS);
		s.answered(first, Instant::now());
		s.remember(first, "<body/>".into());
		for rid in 2..(2 + u64::from(MAX_REPEATS)) {
			assert!(matches!(s.request(body(1, "")), Ok(Request::Resend(_))));
			let t = taken(s.request(body(rid, "")));
			s.answered(t.ticket, Instant::now());
		}
	}

	#[test]
	fn inactivity_counts_from_the_last_answer() {
		let now = Instant::now();
		let (mut s, first) = Session::new("s".into(), &Body { rid: 1, ..Body::default() }, BOUNDS);
		assert_eq!(s.inactive_at(), None, "a request is held");
		s.answered(first, now);
		assert_eq!(s.inactive_at(), Some(now + Duration::from_secs(30)));
		taken(s.request(body(2, "")));
		assert_eq!(s.inactive_at(), None);
	}

	#[test]
	fn stream_elements_for_a_body() {
		let limits = LIMITS;
		let mut r = crate::xmpp::reader::StreamReader::new(limits);
		let ours = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='a.test' version='1.0'><stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features><message to='x@a.test'><body>hi</body></message><stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>";
		let mut rest = &ours[..];
		let mut got = Vec::new();
		while let Ok(Some(ev)) = r.next(&mut rest) {
			got.push(outbound(ev));
		}
		assert_eq!(got[0], Outbound::Nothing);
		assert_eq!(got[1], Outbound::Element("<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>".into()));
		assert!(matches!(&got[2], Outbound::Element(m) if m.starts_with("<message xmlns='jabber:client'")), "{got:?}");
		assert!(matches!(&got[3], Outbound::Error(e) if e.starts_with("<stream:error><policy-violation")), "{got:?}");
		assert_eq!(got[4], Outbound::End);
	}
}
