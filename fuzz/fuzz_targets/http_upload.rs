//! The HTTPS port's request head parser (`http::upload::parse_head`), fed
//! as the connection reads, and the WebSocket accept key of RFC 6455.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xerra::http::upload::parse_head;

fuzz_target!(|data: &[u8]| {
	for max in [256, 8192] {
		let whole = parse_head(data, max);
		if let Ok(Some((_, n))) = &whole {
			assert!(*n <= data.len());
		}
		let mut at = 0;
		while at < data.len() {
			at = (at + 1 + data[at] as usize * 8).min(data.len());
			match (parse_head(&data[..at], max), &whole) {
				(Ok(None), _) => {}
				(Ok(Some((_, a))), Ok(Some((_, b)))) => assert_eq!(a, *b),
				(Err(_), Err(_)) => {}
				(early, late) => panic!(
					"{:?} after {at} bytes, then {:?}",
					early.map(|h| h.map(|h| h.1)),
					late.as_ref().map(|h| h.as_ref().map(|h| h.1))
				),
			}
		}
	}
	if let Ok(key) = std::str::from_utf8(data) {
		assert_eq!(xerra::net::ws::accept_key(key).len(), 28);
	}
});
