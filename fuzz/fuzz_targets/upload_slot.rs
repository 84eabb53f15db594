//! The checks of an upload slot request (`features::upload`): the file
//! name a client asks for becomes a URL path segment and a
//! Content-Disposition value, so what is kept must be safe in both, and its
//! percent-encoding must be unreserved characters and %XX only, and decode
//! back to it. The content-type becomes the Content-Type of every download
//! (`http::media_type`): one that passes must stay one header line.
//!
//! Input: a `<request/>` element (XEP-0363 §4), or any text as a file name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xerra::features::upload::{clean_name, percent_encode};
use xerra::http::media_type::{is_passive, is_valid};
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
		if let Some(t) = request.attr("content-type") {
			media_type(t);
		}
	}
	check(text);
	media_type(text);
});

fn media_type(t: &str) {
	if !is_valid(t) {
		assert!(!is_passive(t));
		return;
	}
	assert!(t.len() <= 255 && t.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)), "{t:?}");
	let head = format!("HTTP/1.1 200 OK\r\nContent-Type: {t}\r\nX-Content-Type-Options: nosniff\r\n\r\n");
	let mut headers = [httparse::EMPTY_HEADER; 4];
	let mut response = httparse::Response::new(&mut headers);
	assert!(matches!(response.parse(head.as_bytes()), Ok(httparse::Status::Complete(n)) if n == head.len()), "{t:?}");
	assert_eq!(response.headers.len(), 2, "{t:?}");
	assert_eq!(response.headers[0].value, t.trim_end_matches([' ', '\t']).as_bytes());
}

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
