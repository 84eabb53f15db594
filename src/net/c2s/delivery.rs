//! What a connection writes to its client: stanzas kept until acknowledged
//! (XEP-0198), held back while the client is inactive (XEP-0352), and the
//! offline messages pulled from storage in batches (XEP-0160).

use std::io;

use crate::mem::Charge;
use crate::xmpp::element::Element;
use crate::xmpp::ns;
use crate::xmpp::packed::Packed;

use super::Conn;

impl Conn {
	/// Writes a stanza the stream core made; see [`Conn::send_packed`].
	pub(super) fn send_stanza(&mut self, el: Element) {
		if self.sm.is_some() {
			return self.send_packed(Packed::forced(&el));
		}
		if let Some(k) = crate::stats::StanzaKind::of_name(el.name()) {
			crate::stats::stanza_out(k);
		}
		el.write_to(&mut self.out, ns::CLIENT);
	}

	/// Writes a stanza for the client; with stream management it is kept
	/// until the client acknowledges it.
	pub(super) fn send_packed(&mut self, p: Packed) {
		crate::stats::stanza_out_xml(p.xml().as_bytes());
		self.out.extend_from_slice(p.xml().as_bytes());
		if let Some(st) = &self.sm {
			st.borrow_mut().sent_one(p);
			self.sent_since_request = true;
		}
	}

	/// A stanza for the client, unless it is inactive and the stanza can
	/// wait (XEP-0352); one that cannot wait releases the others first.
	pub(super) fn deliver(&mut self, p: Packed) {
		if self.inactive && !p.urgent {
			self.csi_held.push(p);
			let l = &self.server.config.limits;
			if self.csi_held.len() < l.csi_max_held && self.csi_held.bytes() <= l.csi_max_held_bytes {
				return;
			}
			return self.release_held();
		}
		self.release_held();
		self.send_packed(p);
	}

	pub(super) fn release_held(&mut self) {
		for p in self.csi_held.take() {
			self.send_packed(p);
		}
	}

	/// XEP-0160 delivery: batch by batch from storage straight to the
	/// socket; a batch is deleted only after it was written, so a connection
	/// that dies half-way loses nothing (the client may see a batch twice).
	pub(super) async fn flush_offline(&mut self) -> io::Result<()> {
		let Some(user) = self.bound.as_ref().map(|b| b.user().to_owned()) else { return Ok(()) };
		let mut delivered = None;
		loop {
			let batch = match crate::features::offline::next_batch(&self.server.store, &user, delivered).await {
				Ok(b) => b,
				Err(e) => {
					log::error!("{}: offline messages: {e}", self.peer);
					return Ok(());
				}
			};
			let Some(&(last, _)) = batch.last() else { return Ok(()) };
			// Bounded by the batch size; counted while it is being written.
			let _held = Charge::force(batch.iter().map(|(_, xml)| xml.len()).sum());
			for (_, xml) in batch {
				if self.sm.is_some() {
					// Counted and kept until acknowledged, like any stanza
					// (stored as `Element::to_xml(jabber:client)` writes it,
					// which is how a packed stanza reads).
					match String::from_utf8(xml) {
						Ok(text) => self.send_packed(Packed::forced_xml(text)),
						Err(_) => log::error!("{}: unreadable offline message skipped", self.peer),
					}
				} else {
					self.out.extend_from_slice(&xml);
				}
			}
			self.flush().await?;
			delivered = Some(last);
		}
	}
}
