//! The checks of an upload slot request (`features::upload`): the file
//! name a client asks for becomes a URL path segment and a
//! Content-Disposition value, so what is kept must be safe in both, and its
//! percent-encoding must be unreserved characters and %XX only, and decode
//! back to it.
//!
//! Input: a `<request/>` element (XEP-0363 §4), or any text as a file name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xerra::features::upload::{clean_name, percent_encode};
use xerra::xmpp::ns;
use xerra::xmpp::reader::{XmlLimits, parse_stored};

fuzz_target!(|data: &[u8]| {
	let Ok(text) = std::str::from_utf8(data) else { return };
	let limits = XmlLimits { max_stanza_bytes: 16 * 1024, max_depth: 8, max_attrs: 16, max_elements: 64 };
	if let Some(request) = parse_stored(text, ns::HTTP_UPLOAD, limits) {
		if let Some(name) = request.attr("filename") {
			check(name);
		}
		let _ = request.attr("size").map(str::parse::<u64>);
	}
	check(text);
});

fn check(name: &str) {
	let Some(clean) = clean_name(name) else { return };
	assert!(!clean.is_empty() && clean.len() <= 255);
	assert!(!clean.starts_with('.'), "{clean:?}");
	assert!(!clean.chars().any(|c| c.is_control() || c == '/' || c == '\\'), "{clean:?}");
	let encoded = percent_encode(&clean);
	assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)), "{encoded}");
	assert_eq!(decode(&encoded), clean.as_bytes());
}

fn decode(s: &str) -> Vec<u8> {
	let b = s.as_bytes();
	let mut out = Vec::new();
	let mut i = 0;
	while i < b.len() {
		if b[i] == b'%' {
			out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("two hex digits after %"));
			i += 3;
		} else {
			out.push(b[i]);
			i += 1;
		}
	}
	out
}
