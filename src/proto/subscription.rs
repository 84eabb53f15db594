//! RFC 6121 §3 and Appendix A: the presence subscription state machine, as a
//! pure function of (state, stanza) -> (state, what to do).
//!
//! A user's server keeps one [`SubState`] per contact. "Outbound" stanzas are
//! the ones the user sends to the contact; "inbound" ones come from the
//! contact. Each table row of Appendix A is one match arm below.

/// The subscription attribute of a roster item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sub {
	#[default]
	None,
	/// The user receives the contact's presence.
	To,
	/// The contact receives the user's presence.
	From,
	Both,
}

impl Sub {
	pub fn as_str(self) -> &'static str {
		match self {
			Sub::None => "none",
			Sub::To => "to",
			Sub::From => "from",
			Sub::Both => "both",
		}
	}

	pub fn has_to(self) -> bool {
		matches!(self, Sub::To | Sub::Both)
	}

	pub fn has_from(self) -> bool {
		matches!(self, Sub::From | Sub::Both)
	}

	fn with_to(self, on: bool) -> Sub {
		Sub::from_flags(on, self.has_from())
	}

	fn with_from(self, on: bool) -> Sub {
		Sub::from_flags(self.has_to(), on)
	}

	fn from_flags(to: bool, from: bool) -> Sub {
		match (to, from) {
			(false, false) => Sub::None,
			(true, false) => Sub::To,
			(false, true) => Sub::From,
			(true, true) => Sub::Both,
		}
	}
}

/// One contact's subscription state on the user's side, with the two
/// "pending" flags of Appendix A.1 and the pre-approval of §3.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubState {
	pub sub: Sub,
	/// The user asked for the contact's presence (shown as ask="subscribe").
	pub pending_out: bool,
	/// The contact asked for the user's presence and awaits an answer.
	pub pending_in: bool,
	/// The user pre-approved a subscription request from the contact.
	pub approved: bool,
}

/// The four subscription stanzas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubKind {
	Subscribe,
	Subscribed,
	Unsubscribe,
	Unsubscribed,
}

/// What the user's server does with an outbound subscription stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outbound {
	pub state: SubState,
	/// Route the stanza to the contact (RFC 6121 §3.1.2 et seq.).
	pub route: bool,
}

/// What the user's server does with an inbound subscription stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inbound {
	pub state: SubState,
	/// Deliver the stanza to the user's available resources.
	pub deliver: bool,
	/// Answer the contact with `subscribed` on the user's behalf (already
	/// subscribed, or pre-approved).
	pub auto_subscribed: bool,
}

impl SubState {
	/// Appendix A.2: the user sends `kind` to the contact.
	pub fn outbound(self, kind: SubKind) -> Outbound {
		let mut s = self;
		let route = match kind {
			// A.2.1: always routed; pending-out set unless already subscribed to.
			SubKind::Subscribe => {
				if !s.sub.has_to() {
					s.pending_out = true;
				}
				true
			}
			// A.2.2: cancels our subscription or request.
			SubKind::Unsubscribe => {
				s.pending_out = false;
				s.sub = s.sub.with_to(false);
				true
			}
			// A.2.3: approves a pending request; otherwise a pre-approval
			// (§3.4), which is recorded but not routed.
			SubKind::Subscribed => {
				if s.pending_in {
					s.pending_in = false;
					s.sub = s.sub.with_from(true);
					true
				} else {
					if !s.sub.has_from() {
						s.approved = true;
					}
					false
				}
			}
			// A.2.4: denies a request or revokes the contact's subscription.
			SubKind::Unsubscribed => {
				let changed = s.pending_in || s.sub.has_from() || s.approved;
				s.pending_in = false;
				s.approved = false;
				s.sub = s.sub.with_from(false);
				changed
			}
		};
		Outbound { state: s, route }
	}

	/// Appendix A.3: the contact sent `kind` to the user.
	pub fn inbound(self, kind: SubKind) -> Inbound {
		let mut s = self;
		let mut deliver = false;
		let mut auto_subscribed = false;
		match kind {
			// A.3.1: already subscribed → answer for the user; pre-approved →
			// approve now (§3.4); otherwise remember and ask the user once.
			SubKind::Subscribe => {
				if s.sub.has_from() {
					auto_subscribed = true;
				} else if s.approved {
					s.approved = false;
					s.sub = s.sub.with_from(true);
					auto_subscribed = true;
				} else if !s.pending_in {
					s.pending_in = true;
					deliver = true;
				}
			}
			// A.3.2: the contact withdraws its request or subscription.
			SubKind::Unsubscribe => {
				if s.pending_in || s.sub.has_from() {
					deliver = true;
				}
				s.pending_in = false;
				s.sub = s.sub.with_from(false);
			}
			// A.3.3: honoured only if we asked.
			SubKind::Subscribed => {
				if s.pending_out {
					s.pending_out = false;
					s.sub = s.sub.with_to(true);
					deliver = true;
				}
			}
			// A.3.4: the contact denies or revokes.
			SubKind::Unsubscribed => {
				if s.pending_out || s.sub.has_to() {
					deliver = true;
				}
				s.pending_out = false;
				s.sub = s.sub.with_to(false);
			}
		}
		Inbound { state: s, deliver, auto_subscribed }
	}
}

/// The `<status/>` kept with a subscription request: at most `max` bytes,
/// cut on a character boundary (a request stays valid with less of its note).
pub fn request_status(text: &str, max: usize) -> &str {
	if text.len() <= max {
		return text;
	}
	let mut end = max;
	while !text.is_char_boundary(end) {
		end -= 1;
	}
	&text[..end]
}

#[cfg(test)]
mod tests {
	use super::*;
	use Sub::*;
	use SubKind::*;

	/// The nine states of Appendix A.1 as (sub, pending_out, pending_in).
	const STATES: [(Sub, bool, bool); 9] = [
		(None, false, false),
		(None, true, false),
		(None, false, true),
		(None, true, true),
		(To, false, false),
		(To, false, true),
		(From, false, false),
		(From, true, false),
		(Both, false, false),
	];

	fn st(i: usize) -> SubState {
		let (sub, pending_out, pending_in) = STATES[i];
		SubState { sub, pending_out, pending_in, approved: false }
	}

	fn idx(s: SubState) -> usize {
		STATES.iter().position(|&(sub, o, i)| sub == s.sub && o == s.pending_out && i == s.pending_in).unwrap()
	}

	/// Appendix A.3 tables: new state index and whether the stanza is delivered.
	#[test]
	fn inbound_tables() {
		let subscribe = [(2, true), (3, true), (2, false), (3, false), (5, true), (5, false), (6, false), (7, false), (8, false)];
		let unsubscribe = [(0, false), (1, false), (0, true), (1, true), (4, false), (4, true), (0, true), (1, true), (4, true)];
		let subscribed = [(0, false), (4, true), (2, false), (5, true), (4, false), (5, false), (6, false), (8, true), (8, false)];
		let unsubscribed = [(0, false), (0, true), (2, false), (2, true), (0, true), (2, true), (6, false), (6, true), (6, true)];
		for (kind, table) in [(Subscribe, subscribe), (Unsubscribe, unsubscribe), (Subscribed, subscribed), (Unsubscribed, unsubscribed)] {
			for (i, (want, deliver)) in table.into_iter().enumerate() {
				let r = st(i).inbound(kind);
				assert_eq!((idx(r.state), r.deliver), (want, deliver), "{kind:?} in state {i}");
			}
		}
	}

	/// Appendix A.2 tables: new state index.
	#[test]
	fn outbound_tables() {
		let subscribe = [1, 1, 3, 3, 4, 5, 7, 7, 8];
		let unsubscribe = [0, 0, 2, 2, 0, 2, 6, 6, 6];
		let subscribed = [0, 1, 6, 7, 4, 8, 6, 7, 8];
		let unsubscribed = [0, 1, 0, 1, 4, 4, 0, 1, 4];
		for (kind, table) in [(Subscribe, subscribe), (Unsubscribe, unsubscribe), (Subscribed, subscribed), (Unsubscribed, unsubscribed)] {
			for (i, want) in table.into_iter().enumerate() {
				let mut got = st(i).outbound(kind).state;
				got.approved = false;
				assert_eq!(idx(got), want, "{kind:?} in state {i}");
			}
		}
	}

	#[test]
	fn already_subscribed_contact_gets_automatic_answer() {
		let r = st(6).inbound(Subscribe);
		assert!(r.auto_subscribed && !r.deliver);
	}

	#[test]
	fn pre_approval_is_used_once() {
		let out = st(0).outbound(Subscribed);
		assert!(!out.route && out.state.approved);
		let r = out.state.inbound(Subscribe);
		assert!(r.auto_subscribed && !r.deliver);
		assert_eq!(r.state.sub, From);
		assert!(!r.state.approved);
		// Unsubscribed cancels a pre-approval.
		assert!(!st(0).outbound(Subscribed).state.outbound(Unsubscribed).state.approved);
	}

	#[test]
	fn request_status_is_cut_on_a_character_boundary() {
		assert_eq!(request_status("hello", 10), "hello");
		assert_eq!(request_status("hello", 3), "hel");
		assert_eq!(request_status("héllo", 2), "h");
		assert_eq!(request_status("héllo", 3), "hé");
		assert_eq!(request_status("x", 0), "");
	}
}
