//! Where a request ends (RFC 9112 §6), checked the same way by both HTTP
//! servers (the web page and the HTTPS port): anything two parsers could
//! read differently is refused, so nothing in front of the box (a proxy, a
//! cache) can be made to see other requests than we do.

/// Checks a complete request head (`head`, up to and with the empty line)
/// as httparse read it into `headers`; the body length, or the status to
/// answer.
///
/// - Lines end in CRLF only: httparse also takes a bare LF (RFC 9112 §2.2
///   allows a server to, we do not).
/// - Content-Length is one header of digits only: a second one (equal or
///   not), a list, a sign or a space inside is 400.
/// - Transfer-Encoding: no coding is implemented; `chunked` alone gets 411
///   (send a length instead), any other coding 501, and one beside a
///   Content-Length 400 (RFC 9112 §6.1: a smuggling attempt).
pub fn check(head: &[u8], headers: &[httparse::Header<'_>]) -> Result<Option<u64>, u16> {
	for (i, b) in head.iter().enumerate() {
		let bare_lf = *b == b'\n' && (i == 0 || head[i - 1] != b'\r');
		let bare_cr = *b == b'\r' && head.get(i + 1) != Some(&b'\n');
		if bare_lf || bare_cr {
			return Err(400);
		}
	}
	let mut length = None;
	let mut coding = None;
	for h in headers {
		if h.name.eq_ignore_ascii_case("content-length") {
			if length.is_some() || h.value.is_empty() || !h.value.iter().all(u8::is_ascii_digit) {
				return Err(400);
			}
			// Only digits, so the one way to fail is a number too big for us.
			length = Some(std::str::from_utf8(h.value).ok().and_then(|v| v.parse::<u64>().ok()).ok_or(400u16)?);
		} else if h.name.eq_ignore_ascii_case("transfer-encoding") {
			if coding.is_some() {
				return Err(400);
			}
			coding = Some(h.value);
		}
	}
	match coding {
		None => Ok(length),
		Some(_) if length.is_some() => Err(400),
		Some(c) if c.eq_ignore_ascii_case(b"chunked") => Err(411),
		Some(_) => Err(501),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn run(raw: &[u8]) -> Result<Option<u64>, u16> {
		let mut headers = [httparse::EMPTY_HEADER; 16];
		let mut req = httparse::Request::new(&mut headers);
		match req.parse(raw) {
			Ok(httparse::Status::Complete(n)) => check(&raw[..n], req.headers),
			other => panic!("{other:?}"),
		}
	}

	#[test]
	fn one_plain_length_and_crlf_lines() {
		assert_eq!(run(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), Ok(None));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"), Ok(Some(12)));
		assert_eq!(run(b"PUT / HTTP/1.1\r\ncontent-length:  0 \r\n\r\n"), Ok(Some(0)));
	}

	#[test]
	fn anything_ambiguous_is_refused() {
		assert_eq!(run(b"GET / HTTP/1.1\nHost: a\n\n"), Err(400));
		assert_eq!(run(b"GET / HTTP/1.1\r\nHost: a\n\r\n"), Err(400));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), Err(400));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), Err(400));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"), Err(400));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nContent-Length: +5\r\n\r\n"), Err(400));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n"), Err(400));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n"), Err(400));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), Err(400));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), Err(411));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), Err(501));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), Err(400));
		assert_eq!(run(b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), Err(400));
	}
}
