//! The SOCKS5 handshake as XEP-0065 §5.3 uses it (a subset of RFC 1928):
//! the client offers "no authentication", then asks to CONNECT to a
//! "domain name" that is the stream's hash. No sockets here: feed bytes,
//! get what to answer.

/// RFC 1928 §3: the version byte.
const VERSION: u8 = 5;
/// RFC 1928 §3: "NO AUTHENTICATION REQUIRED".
const NO_AUTH: u8 = 0;
/// RFC 1928 §3: "NO ACCEPTABLE METHODS".
const NO_METHOD: u8 = 0xff;
/// RFC 1928 §4: CONNECT.
const CONNECT: u8 = 1;
/// RFC 1928 §4: ATYP DOMAINNAME (XEP-0065 hard-codes it).
const DOMAIN: u8 = 3;

/// RFC 1928 §6 reply codes we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
	Succeeded = 0,
	GeneralFailure = 1,
	NotAllowed = 2,
	CommandNotSupported = 7,
	AddressTypeNotSupported = 8,
}

/// Why a handshake cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
	/// Not SOCKS version 5.
	Version,
	/// The client does not offer "no authentication" (answer: `NO_METHOD`).
	NoMethod,
	/// A request we do not serve, with the reply to send.
	Refused(Reply),
}

/// The method selection (RFC 1928 §3): `Ok(None)` until it is complete,
/// else how many bytes it took and the answer to send.
pub fn greeting(buf: &[u8]) -> Result<Option<(usize, [u8; 2])>, Error> {
	let (Some(&v), Some(&n)) = (buf.first(), buf.get(1)) else { return Ok(None) };
	if v != VERSION {
		return Err(Error::Version);
	}
	let end = 2 + usize::from(n);
	let Some(methods) = buf.get(2..end) else { return Ok(None) };
	if !methods.contains(&NO_AUTH) {
		return Err(Error::NoMethod);
	}
	Ok(Some((end, [VERSION, NO_AUTH])))
}

/// The answer to a greeting that offers nothing we accept.
pub const NO_ACCEPTABLE_METHOD: [u8; 2] = [VERSION, NO_METHOD];

/// The CONNECT request (RFC 1928 §4): `Ok(None)` until complete, else how
/// many bytes it took and the destination, which XEP-0065 makes the
/// stream's hash: SHA-1 of (SID + initiator JID + target JID), hex.
pub fn request(buf: &[u8]) -> Result<Option<(usize, String)>, Error> {
	let Some(head) = buf.get(..5) else { return Ok(None) };
	if head[0] != VERSION {
		return Err(Error::Version);
	}
	if head[1] != CONNECT {
		return Err(Error::Refused(Reply::CommandNotSupported));
	}
	if head[3] != DOMAIN {
		return Err(Error::Refused(Reply::AddressTypeNotSupported));
	}
	let len = usize::from(head[4]);
	let end = 5 + len + 2;
	let Some(addr) = buf.get(5..5 + len) else { return Ok(None) };
	if buf.len() < end {
		return Ok(None);
	}
	// A SHA-1 in hex; anything else cannot name a stream.
	if len != 40 || !addr.iter().all(|b| b.is_ascii_hexdigit()) {
		return Err(Error::Refused(Reply::NotAllowed));
	}
	Ok(Some((end, String::from_utf8_lossy(addr).to_ascii_lowercase())))
}

/// The reply to a request (RFC 1928 §6), naming the same destination.
pub fn reply(code: Reply, hash: &str) -> Vec<u8> {
	let addr = hash.as_bytes();
	let mut out = vec![VERSION, code as u8, 0, DOMAIN, addr.len().min(255) as u8];
	out.extend_from_slice(&addr[..addr.len().min(255)]);
	out.extend_from_slice(&[0, 0]);
	out
}

/// XEP-0065 §5.3.2: the hash both parties put in their requests.
pub fn stream_hash(sid: &str, initiator: &str, target: &str) -> String {
	let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
	for part in [sid, initiator, target] {
		ctx.update(part.as_bytes());
	}
	ctx.finish().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn greeting_wants_no_authentication() {
		assert_eq!(greeting(&[5]), Ok(None));
		assert_eq!(greeting(&[5, 2, 2]), Ok(None));
		assert_eq!(greeting(&[5, 2, 2, 0, 9]), Ok(Some((4, [5, 0]))));
		assert_eq!(greeting(&[5, 1, 2]), Err(Error::NoMethod));
		assert_eq!(greeting(&[4, 1, 0]), Err(Error::Version));
	}

	#[test]
	fn request_names_a_stream_by_its_hash() {
		let hash = stream_hash("sid1", "a@example.test/x", "b@example.test/y");
		assert_eq!(hash.len(), 40);
		let mut req = vec![5, 1, 0, 3, 40];
		req.extend_from_slice(hash.to_uppercase().as_bytes());
		assert_eq!(request(&req), Ok(None), "port still missing");
		req.extend_from_slice(&[0, 0]);
		assert_eq!(request(&req), Ok(Some((req.len(), hash.clone()))));
		assert_eq!(&reply(Reply::Succeeded, &hash)[..5], &[5, 0, 0, 3, 40]);
		req[1] = 2;
		assert_eq!(request(&req), Err(Error::Refused(Reply::CommandNotSupported)));
		assert_eq!(request(&[5, 1, 0, 1, 127, 0, 0, 1, 0, 80]), Err(Error::Refused(Reply::AddressTypeNotSupported)));
		assert_eq!(request(&[5, 1, 0, 3, 3, b'a', b'b', b'c', 0, 0]), Err(Error::Refused(Reply::NotAllowed)));
	}

	#[test]
	fn the_hash_is_the_sha1_of_the_three_strings() {
		// sha1("abc") (FIPS 180 test vector), split over the three parts.
		assert_eq!(stream_hash("a", "b", "c"), "a9993e364706816aba3e25717850c26c9cd0d89d");
	}
}
