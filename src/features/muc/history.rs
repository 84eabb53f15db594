//! A room's recent messages, sent to whoever joins (XEP-0045 §7.2.15):
//! packed (serialised) and bounded by count (`muc_history_messages`) and
//! bytes (`muc_history_bytes`), oldest first out. Kept only while the
//! server's memory budget is under half full (see [`crate::mem`]): when it
//! is not, the room's oldest messages make room, and a message that still
//! does not fit is not kept (it stays in the room's archive).

use std::collections::VecDeque;

use crate::mem::Class;
use crate::xmpp::element::Element;
use crate::xmpp::packed::Packed;

#[derive(Debug, Default)]
pub struct History {
	/// Messages as broadcast (no `to`), with when they were sent (micros).
	items: VecDeque<(Packed, u64)>,
	bytes: usize,
}

impl History {
	/// Keeps `m`, sent at `at`; `bounds` are (messages, bytes).
	pub fn push(&mut self, m: &Element, at: u64, bounds: (usize, usize)) {
		self.push_xml(m.to_xml_unqualified(), at, bounds);
	}

	/// Keeps a message as the archive stored it (`to_xml(jabber:client)`).
	/// One larger than the byte bound is not kept.
	pub fn push_xml(&mut self, xml: String, at: u64, (max_len, max_bytes): (usize, usize)) {
		let cost = Packed::cost_of(xml.len());
		if max_len == 0 || cost > max_bytes {
			return;
		}
		while !crate::mem::fits(cost, Class::Kept) && !self.items.is_empty() {
			self.pop();
		}
		let Ok(packed) = Packed::from_xml(xml, Class::Kept) else { return };
		self.bytes += packed.cost();
		self.items.push_back((packed, at));
		while self.items.len() > max_len || self.bytes > max_bytes {
			self.pop();
		}
	}

	fn pop(&mut self) {
		if let Some((p, _)) = self.items.pop_front() {
			self.bytes -= p.cost();
		}
	}

	/// Messages sent at or after `since`, oldest first.
	pub fn since(&self, since: Option<u64>) -> impl Iterator<Item = &(Packed, u64)> {
		self.items.iter().filter(move |(_, t)| since.is_none_or(|s| *t >= s))
	}

	pub fn len(&self) -> usize {
		self.items.len()
	}

	pub fn bytes(&self) -> usize {
		self.bytes
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::xmpp::ns;

	fn msg(n: usize, body: usize) -> Element {
		Element::new("message", ns::CLIENT)
			.with_attr("id", n.to_string())
			.with_child(Element::new("body", ns::CLIENT).with_text("x".repeat(body)))
	}

	fn ids(h: &History) -> Vec<String> {
		h.since(None).map(|(p, _)| p.attr("id").unwrap().into_owned()).collect()
	}

	#[test]
	fn bounded_by_count_and_bytes_oldest_first_out() {
		crate::mem::set_limit(usize::MAX);
		let mut h = History::default();
		for n in 0..5 {
			h.push(&msg(n, 10), n as u64, (3, 1 << 20));
		}
		assert_eq!(ids(&h), ["2", "3", "4"]);
		// 1000-byte messages in 2500 bytes: two fit.
		let mut h = History::default();
		for n in 0..4 {
			h.push(&msg(n, 1000), n as u64, (20, 2500));
		}
		assert_eq!(ids(&h), ["2", "3"]);
		assert!(h.bytes() <= 2500);
		// One larger than the bound is not kept at all.
		h.push(&msg(9, 5000), 9, (20, 2500));
		assert_eq!(ids(&h), ["2", "3"]);
		assert_eq!(h.since(Some(3)).count(), 1);
		assert_eq!(h.len(), 2);
	}

	#[test]
	fn makes_room_when_the_budget_is_short_and_keeps_nothing_past_half_of_it() {
		let base = crate::mem::used();
		crate::mem::set_limit(base + 2 * 3000);
		let mut h = History::default();
		// Half the budget (3000 bytes) holds two of these.
		for n in 0..4 {
			h.push(&msg(n, 1300), n as u64, (20, 1 << 20));
		}
		assert_eq!(ids(&h), ["2", "3"]);
		drop(h);
		crate::mem::set_limit(usize::MAX);
	}
}
