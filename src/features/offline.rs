//! XEP-0160: Best Practices for Handling Offline Messages, with XEP-0203
//! delay stamps. Messages of type chat/normal to an account with no available
//! resource are stored (up to `max_offline_messages` and `max_offline_bytes`)
//! and delivered when the account next sends initial presence with
//! non-negative priority, in batches bounded in count and bytes.

use super::{Cx, Feature, Out};
use crate::store::{OfflineQuota, Pushed, Store, StoreError};
use crate::xmpp::element::Element;
use crate::xmpp::error::{Condition, StanzaError};
use crate::xmpp::ns;

pub const FEATURE: Feature =
	Feature { name: "offline", spec: "XEP-0160 1.0.1, XEP-0203 2.0", disco: &[ns::MSGOFFLINE], account: &[], iq: &[] };

/// XEP-0085 chat states: not worth keeping for later.
use crate::xmpp::ns::CHATSTATES;
/// XEP-0334 hints.
const HINTS: &str = "urn:xmpp:hints";

/// True if a message carries something a user would miss: not only chat
/// states, and not marked no-store.
fn worth_storing(el: &Element) -> bool {
	if el.child("no-store", HINTS).is_some() || el.child("no-permanent-store", HINTS).is_some() {
		return false;
	}
	el.children().any(|c| c.ns() != CHATSTATES && c.ns() != HINTS || c.is("store", HINTS))
}

/// Stores `el` for `user`; the sender gets service-unavailable if storage is full.
pub fn store(mut el: Element, user: &str, cx: &mut Cx) {
	if !worth_storing(&el) {
		return;
	}
	let Some(stamp) = super::time::stamp(cx.now) else { return };
	el.retain_children(|c| !c.is("delay", ns::DELAY));
	el.push(Element::new("delay", ns::DELAY).with_attr("from", cx.domain()).with_attr("stamp", stamp));
	let bytes = el.to_xml(ns::CLIENT).into_bytes();
	let l = &cx.server.config.limits;
	let quota = OfflineQuota { messages: l.max_offline_messages, bytes: l.max_offline_bytes };
	let user = user.to_owned();
	cx.write(move |tx| {
		Ok(match tx.push_offline(&user, &bytes, quota)? {
			Pushed::Stored => Vec::new(),
			full_or_gone => {
				let text = match full_or_gone {
					Pushed::Full => "the recipient's offline storage is full",
					_ => "no such account",
				};
				let err = StanzaError::with_text(Condition::ServiceUnavailable, text);
				vec![Out::Route(crate::xmpp::stanza::error_reply(&el, &err))]
			}
		})
	});
}

/// Asks the session to deliver what is stored for its account; it pulls
/// [`next_batch`] by batch, so neither queue nor memory holds them all.
pub fn flush(cx: &mut Cx) {
	cx.send(Out::FlushOffline);
}

/// Messages per batch of a flush, and their bytes: what a session holds
/// at once while it delivers (a larger message goes alone).
const BATCH: usize = 50;
const BATCH_BYTES: usize = 256 << 10;

/// Deletes what the previous batch delivered (up to `delivered`) and returns
/// the next batch as (sequence, serialised stanza). Runs in the writer, so
/// messages still being stored are not missed.
pub async fn next_batch(store: &Store, user: &str, delivered: Option<u64>) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
	let user = user.to_owned();
	store
		.write(move |tx| {
			if let Some(upto) = delivered {
				tx.drop_offline(&user, upto)?;
			}
			tx.offline_batch(&user, BATCH, BATCH_BYTES)
		})
		.await
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn only_meaningful_messages_are_stored() {
		let m = |child: Element| Element::new("message", ns::CLIENT).with_child(child);
		assert!(worth_storing(&m(Element::new("body", ns::CLIENT).with_text("hi"))));
		assert!(!worth_storing(&m(Element::new("composing", CHATSTATES))));
		assert!(!worth_storing(&m(Element::new("body", ns::CLIENT)).with_child(Element::new("no-store", HINTS))));
		assert!(worth_storing(&m(Element::new("encrypted", "eu.siacs.conversations.axolotl"))));
	}
}
