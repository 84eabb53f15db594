//! The web page's request parser (`http::parse`), fed as the connection
//! reads: once a prefix of the bytes is decided (a request or a refusal),
//! more bytes must not change that decision.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xerra::http::{Parsed, parse};

fuzz_target!(|data: &[u8]| {
	let peer = "127.0.0.1:9".parse().unwrap();
	for max in [256, 8192] {
		let whole = parse(data, max, peer);
		if let Parsed::Complete(r) = &whole {
			assert!(r.body.len() <= max && !r.path.contains('?'));
			let length = r.header("content-length").map_or(0, |v| v.trim().parse::<usize>().unwrap());
			assert_eq!(r.body.len(), length);
		}
		// The connection parses again after every read of up to 2048 bytes.
		let mut at = 0;
		while at < data.len() {
			at = (at + 1 + data[at] as usize * 8).min(data.len());
			match (parse(&data[..at], max, peer), &whole) {
				(Parsed::Partial, _) => {}
				(Parsed::Complete(a), Parsed::Complete(b)) => {
					assert_eq!((&a.method, &a.path, &a.query, &a.headers, &a.body), (&b.method, &b.path, &b.query, &b.headers, &b.body));
				}
				(Parsed::Reject(_), Parsed::Reject(_)) => {}
				(early, late) => panic!("{early:?} after {at} bytes, then {late:?}"),
			}
		}
	}
});
