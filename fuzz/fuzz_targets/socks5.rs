//! The SOCKS5 proxy's parsers (`proto::socks5`, XEP-0065): the greeting and
//! the CONNECT request, fed as the connection reads. A decided prefix stays
//! decided, what they consume lies within what they were given, and a
//! request names a stream by a 40-digit lowercase hash only.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xerra::proto::socks5::{Error, Reply, greeting, reply, request};

fuzz_target!(|data: &[u8]| {
	let Some((n, answer)) = decided(data, greeting) else { return };
	assert_eq!(answer, [5, 0]);
	let rest = &data[n..];
	let Some((n, hash)) = decided(rest, request) else { return };
	assert!(n <= rest.len());
	assert!(hash.len() == 40 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{hash:?}");
	assert_eq!(reply(Reply::Succeeded, &hash).len(), 47);
});

/// What a parser makes of the bytes so far: how many it used, and what.
type Parse<T> = fn(&[u8]) -> Result<Option<(usize, T)>, Error>;

/// `parse` on all of `data`, checked against every prefix of it.
fn decided<T: PartialEq + std::fmt::Debug>(data: &[u8], parse: Parse<T>) -> Option<(usize, T)> {
	let whole = parse(data);
	for cut in 0..data.len() {
		match parse(&data[..cut]) {
			Ok(None) => {}
			early => assert_eq!(early, whole, "decided after {cut} bytes, then changed"),
		}
	}
	let (n, v) = whole.ok()??;
	assert!(n <= data.len());
	Some((n, v))
}
