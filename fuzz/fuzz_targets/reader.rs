//! The XML stream reader (`xmpp::reader::StreamReader`), as every port feeds
//! it: the same bytes in one piece and in random pieces must give the same
//! events (one run may stop earlier at an error, never differ), every
//! stanza must write back as itself (stored, queued and forwarded copies),
//! a packed stanza must read back its name and attributes, and nothing may
//! stay charged to the memory budget afterwards.
//!
//! Input: one byte that picks the chunking and the limits, then the stream.
#![no_main]

mod common;

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use xerra::mem::Class;
use xerra::xmpp::ns;
use xerra::xmpp::packed::Packed;
use xerra::xmpp::reader::StreamEvent;

fuzz_target!(|data: &[u8]| {
	let Some((&ctl, input)) = data.split_first() else { return };
	let limits = [common::PRE_AUTH, common::FULL, common::TINY][usize::from(ctl % 3)];
	let (whole, whole_err) = common::read_all(&[input], limits);
	let pieces = common::chunks(input, u64::from(ctl));
	let (split, split_err) = common::read_all(&pieces, limits);
	let n = whole.len().min(split.len());
	assert_eq!(whole[..n], split[..n], "the events depend on how the bytes arrived");
	// Without an error both read everything: the same events. (With one,
	// which limit or syntax error comes first may depend on the pieces.)
	if whole_err.is_none() && split_err.is_none() {
		assert_eq!(whole.len(), split.len());
	}
	for ev in &whole {
		if let StreamEvent::Stanza(el) = ev {
			common::round_trip(el);
			if el.ns() == ns::CLIENT {
				packed(el);
			}
		}
	}
	drop((whole, split));
	assert_eq!(xerra::mem::used(), 0, "a reader left memory charged");
});

/// A stanza kept as text (queues, history) keeps what routing reads of it.
fn packed(el: &xerra::xmpp::element::Element) {
	let p = Packed::new(el, Class::Transit).expect("no memory limit here");
	assert_eq!(p.name(), el.name());
	for name in ["from", "to", "type", "id"] {
		assert_eq!(p.attr(name), el.attr(name).map(Cow::Borrowed), "attribute {name} of {}", p.xml());
	}
	assert_eq!(p.unpack().as_ref(), Some(el), "packed: {}", p.xml());
}
