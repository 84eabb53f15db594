//! A session's life beyond one connection (XEP-0198): enabling stream
//! management, resuming on a new connection, waiting for the client after
//! its connection is lost, and the session's end, when what it never
//! acknowledged goes to offline storage.

use std::cell::RefCell;
use std::time::Instant;

use async_io::Timer;
use futures_lite::FutureExt as _;

use crate::features::presence;
use crate::net::sm::SmState;
use crate::proto::stream;
use crate::sessions::Outgoing;

use super::{Bound, Conn};

impl Conn {
	/// XEP-0198 `<enable/>` on a bound stream.
	pub(super) fn enable_sm(&mut self, resume: bool) {
		let answer = self.sm_enable(resume);
		self.out.extend_from_slice(answer.as_bytes());
	}

	/// Enables stream management on the bound session; returns `<enabled/>`.
	pub(super) fn sm_enable(&mut self, resume: bool) -> String {
		let Some(b) = &self.bound else { return stream::sm_failed("unexpected-request") };
		let token = resume.then(|| {
			let mut raw = [0u8; 18];
			self.server.random(&mut raw);
			base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
		});
		let st = std::rc::Rc::new(RefCell::new(SmState::new(token.clone(), b.user(), b.id, b.jid.clone(), self.conn_id)));
		let answer = match &token {
			Some(t) => {
				self.server.resumable.borrow_mut().insert(t.clone(), st.clone());
				let max = self.server.config.limits.sm_resume_timeout.as_secs();
				format!("<enabled xmlns='urn:xmpp:sm:3' id='{t}' resume='true' max='{max}'/>")
			}
			None => "<enabled xmlns='urn:xmpp:sm:3'/>".to_owned(),
		};
		self.sm = Some(st);
		answer
	}

	/// XEP-0198 §5: takes over the session `previd` of `user`, from a
	/// connection that is gone or about to notice it is.
	pub(super) fn resume(&mut self, user: &str, previd: &str, h: u32) {
		if let Err(failed) = self.take_over(user, previd, h, |_, resumed| resumed.to_owned()) {
			self.out.extend_from_slice(failed.as_bytes());
		}
	}

	/// Resumes `previd`; `frame` makes what is written in place of the
	/// `<resumed/>` element (SASL2 wraps it in its `<success/>`), before the
	/// stanzas sent again. `Err` is the `<failed/>` to tell.
	pub(super) fn take_over(
		&mut self,
		user: &str,
		previd: &str,
		h: u32,
		frame: impl FnOnce(&mut Self, &str) -> String,
	) -> Result<(), String> {
		let found = self.server.resumable.borrow().find(previd, user);
		let Some(st) = found else {
			return Err(stream::sm_failed("item-not-found"));
		};
		let mut s = st.borrow_mut();
		if s.ack(h).is_err() {
			return Err(stream::sm_failed("unexpected-request"));
		}
		// The session's queue moves to this connection; the old one (if it is
		// still there) sees its queue closed and leaves quietly.
		let old = {
			let sessions = self.server.sessions.borrow();
			sessions.get(&s.user, s.session_id).map(|sess| sess.outbox())
		};
		let Some(old) = old else {
			return Err(stream::sm_failed("item-not-found"));
		};
		while let Some(item) = old.try_recv() {
			self.outbox.push(item);
		}
		old.close();
		self.server.sessions.borrow_mut().replace_outbox(&s.user, s.session_id, self.outbox.clone());
		s.owner = self.conn_id;
		self.bound = Some(Bound { id: s.session_id, jid: s.jid.clone() });
		self.stream.resumed(s.jid.clone(), s.inbound);
		let answer = format!("<resumed xmlns='urn:xmpp:sm:3' h='{}' previd='{}'/>", s.inbound, crate::xmpp::element::escape_attr(previd));
		drop(s);
		self.sm = Some(st.clone());
		let answer = frame(self, &answer);
		self.out.extend_from_slice(answer.as_bytes());
		let mut s = st.borrow_mut();
		crate::stats::sm_resumed();
		// What the client never acknowledged, again, then what waited for it.
		for p in s.unacked() {
			self.out.extend_from_slice(p.xml().as_bytes());
		}
		self.sent_since_request = s.unacked().len() > 0;
		let held = s.take_held();
		if std::mem::take(&mut s.flush_offline) {
			self.outbox.push(Outgoing::FlushOffline);
		}
		log::info!("{}: resumed {} ({} unacknowledged, {} held)", self.peer, s.jid, s.unacked().len(), held.len());
		drop(s);
		for p in held {
			self.send_packed(p);
		}
		Ok(())
	}

	/// Stanzas kept back for an inactive client that never got them: with
	/// stream management they wait with the session; otherwise they were
	/// only presence, chat states and events, and are dropped.
	pub(super) fn requeue_held(&mut self) {
		let held = self.csi_held.take();
		if let Some(st) = self.sm.as_ref().filter(|_| !self.taken_over()) {
			let mut st = st.borrow_mut();
			for p in held {
				st.hold(p);
			}
		}
	}

	/// The client vanished with a resumable session: keep the session (its
	/// presence stays, stanzas for it are held) until the client resumes on
	/// another connection or `sm_resume_timeout` passes (XEP-0198 §5).
	pub(super) async fn hibernate(&mut self) {
		let Some(st) = self.sm.clone() else { return self.end().await };
		let limits = &self.server.config.limits;
		let (deadline, limit, byte_limit) = (Instant::now() + limits.sm_resume_timeout, limits.sm_max_unacked, limits.sm_max_unacked_bytes);
		log::info!("{}: {} lost; waiting {} s for it to resume", self.peer, st.borrow().jid, limits.sm_resume_timeout.as_secs());
		loop {
			let rx = &self.outbox;
			let item = async { Some(rx.recv().await) }
				.or(async {
					Timer::at(deadline).await;
					None
				})
				.await;
			if self.taken_over() {
				return;
			}
			match item {
				Some(Some(Outgoing::Stanza(p))) => {
					// The phone may sleep: its push service wakes it (XEP-0357).
					let (jid, id) = {
						let s = st.borrow();
						(s.jid.clone(), s.session_id)
					};
					Box::pin(crate::features::push::held(&self.server, &jid, id, &p)).await;
					let mut s = st.borrow_mut();
					s.hold(p);
					if s.pending() > limit || s.bytes() > byte_limit {
						break;
					}
				}
				Some(Some(Outgoing::FlushOffline)) => st.borrow_mut().flush_offline = true,
				// Replaced, deleted, shut down, or time is up.
				_ => break,
			}
		}
		self.end().await;
	}

	/// Unregisters the session and tells everyone who saw it; what its client
	/// never acknowledged, and what was queued but never written, is handled
	/// as undeliverable (offline storage).
	pub(super) async fn end(&mut self) {
		let Some(b) = self.bound.take() else { return };
		let mut undelivered = Vec::new();
		if let Some(st) = self.sm.take() {
			let mut s = st.borrow_mut();
			if s.owner != self.conn_id {
				return;
			}
			if let Some(t) = &s.token {
				self.server.resumable.borrow_mut().remove(t);
			}
			s.owner = 0;
			undelivered = s.take_undelivered();
		}
		// From now on the router passes over this session, so a message for
		// the account reaches its other resources or storage, never both.
		self.outbox.close();
		undelivered.extend(std::iter::from_fn(|| self.outbox.try_recv()).filter_map(|item| match item {
			Outgoing::Stanza(p) => Some(p),
			_ => None,
		}));
		// Stored before the session goes, so a shutdown waiting for the
		// sessions to end also waits for this.
		Box::pin(crate::router::undeliverable(&self.server, &b.jid, b.id, undelivered)).await;
		let removed = self.server.sessions.borrow_mut().remove(b.user(), b.id);
		if let Some(session) = removed {
			presence::session_ended(&self.server, session);
		}
		log::info!("{}: {} gone", self.peer, b.jid);
	}
}
