//! A streaming reader of `multipart/form-data` bodies (RFC 7578), sans-IO:
//! bytes go in as they arrive, events come out (a part's name, pieces of
//! its content, its end), so a file of any size passes through a bounded
//! buffer. A part's headers are bounded ([`MAX_PART_HEAD`]); what the caller
//! keeps of each part is its own business (and its own bound).

/// Most bytes of one part's headers.
pub const MAX_PART_HEAD: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
	/// A part begins: its form field name (`Content-Disposition: form-data; name="..."`).
	Part(String),
	/// Some of the current part's content.
	Data(Vec<u8>),
	/// The current part ended.
	PartEnd,
	/// The closing boundary: the body is complete.
	Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
	/// No `--boundary` where one must be, or a malformed part.
	Malformed,
	/// A part's headers are larger than [`MAX_PART_HEAD`].
	HeadTooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
	/// Before the first boundary.
	Preamble,
	/// After a boundary line: "\r\n" (a part) or "--" (the end).
	AfterBoundary,
	Head,
	Body,
	Done,
}

pub struct Reader {
	/// "\r\n--BOUNDARY".
	delim: Vec<u8>,
	buf: Vec<u8>,
	state: State,
}

/// The boundary of a `Content-Type: multipart/form-data; boundary=...` value.
pub fn boundary(content_type: &str) -> Option<String> {
	let (ty, params) = content_type.split_once(';')?;
	if !ty.trim().eq_ignore_ascii_case("multipart/form-data") {
		return None;
	}
	params.split(';').find_map(|p| {
		let (k, v) = p.split_once('=')?;
		let v = v.trim().trim_matches('"');
		// RFC 2046 §5.1.1: 1 to 70 characters.
		(k.trim().eq_ignore_ascii_case("boundary") && (1..=70).contains(&v.len())).then(|| v.to_owned())
	})
}

impl Reader {
	pub fn new(boundary: &str) -> Reader {
		Reader { delim: format!("\r\n--{boundary}").into_bytes(), buf: b"\r\n".to_vec(), state: State::Preamble }
	}

	pub fn done(&self) -> bool {
		self.state == State::Done
	}

	/// Takes `input` and returns what it completes; bytes that may begin a
	/// boundary are held until the next call.
	pub fn feed(&mut self, input: &[u8]) -> Result<Vec<Event>, Error> {
		self.buf.extend_from_slice(input);
		let mut out = Vec::new();
		loop {
			match self.state {
				State::Done => {
					self.buf.clear();
					return Ok(out);
				}
				State::Preamble => match find(&self.buf, &self.delim) {
					Some(i) => {
						self.buf.drain(..i + self.delim.len());
						self.state = State::AfterBoundary;
					}
					None => {
						let keep = self.delim.len().min(self.buf.len());
						self.buf.drain(..self.buf.len() - keep);
						return Ok(out);
					}
				},
				State::AfterBoundary => {
					if self.buf.len() < 2 {
						return Ok(out);
					}
					if self.buf.starts_with(b"--") {
						self.state = State::Done;
						out.push(Event::Done);
					} else if self.buf.starts_with(b"\r\n") {
						self.buf.drain(..2);
						self.state = State::Head;
					} else {
						return Err(Error::Malformed);
					}
				}
				State::Head => match find(&self.buf, b"\r\n\r\n") {
					Some(i) if i <= MAX_PART_HEAD => {
						let head = String::from_utf8_lossy(&self.buf[..i]).into_owned();
						self.buf.drain(..i + 4);
						out.push(Event::Part(field_name(&head).ok_or(Error::Malformed)?));
						self.state = State::Body;
					}
					Some(_) => return Err(Error::HeadTooLarge),
					None if self.buf.len() > MAX_PART_HEAD + 4 => return Err(Error::HeadTooLarge),
					None => return Ok(out),
				},
				State::Body => match find(&self.buf, &self.delim) {
					Some(i) => {
						if i > 0 {
							out.push(Event::Data(self.buf[..i].to_vec()));
						}
						self.buf.drain(..i + self.delim.len());
						out.push(Event::PartEnd);
						self.state = State::AfterBoundary;
					}
					None => {
						// All but what could be the start of the delimiter.
						let safe = self.buf.len().saturating_sub(self.delim.len() - 1);
						if safe > 0 {
							out.push(Event::Data(self.buf.drain(..safe).collect()));
						}
						return Ok(out);
					}
				},
			}
		}
	}
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
	hay.windows(needle.len()).position(|w| w == needle)
}

/// `name` of a part's `Content-Disposition: form-data; name="..."`.
fn field_name(head: &str) -> Option<String> {
	let value = head.split("\r\n").find_map(|l| {
		let (k, v) = l.split_once(':')?;
		k.trim().eq_ignore_ascii_case("content-disposition").then_some(v)
	})?;
	value.split(';').skip(1).find_map(|p| {
		let (k, v) = p.split_once('=')?;
		(k.trim() == "name").then(|| v.trim().trim_matches('"').to_owned())
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	fn body() -> Vec<u8> {
		let mut b = b"--XyZ\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\nABCD-EFGH\r\n".to_vec();
		b.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.xerra-backup\"\r\n");
		b.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
		b.extend_from_slice(b"bin\r\n--Xy\r\n-data\r\n--XyZ--\r\n");
		b
	}

	/// (name, content) of every part, feeding `chunk` bytes at a time.
	fn parts(chunk: usize) -> Vec<(String, Vec<u8>)> {
		let mut r = Reader::new("XyZ");
		let mut out: Vec<(String, Vec<u8>)> = Vec::new();
		let mut done = false;
		for c in body().chunks(chunk) {
			for e in r.feed(c).unwrap() {
				match e {
					Event::Part(n) => out.push((n, Vec::new())),
					Event::Data(d) => out.last_mut().unwrap().1.extend(d),
					Event::PartEnd => {}
					Event::Done => done = true,
				}
			}
		}
		assert!(done && r.done());
		out
	}

	#[test]
	fn parts_come_out_whole_however_the_bytes_are_cut() {
		for chunk in [1, 2, 3, 7, 1000] {
			let p = parts(chunk);
			assert_eq!(p.len(), 2, "{chunk}");
			assert_eq!(p[0], ("code".to_owned(), b"ABCD-EFGH".to_vec()));
			assert_eq!(p[1], ("file".to_owned(), b"bin\r\n--Xy\r\n-data".to_vec()), "a near-boundary inside the content");
		}
	}

	#[test]
	fn boundaries_and_bad_bodies() {
		assert_eq!(boundary("multipart/form-data; boundary=----WebKitFormBoundaryAbC").as_deref(), Some("----WebKitFormBoundaryAbC"));
		assert_eq!(boundary("multipart/form-data; boundary=\"q r\"").as_deref(), Some("q r"));
		assert_eq!(boundary("application/x-www-form-urlencoded"), None);
		assert_eq!(boundary("multipart/form-data"), None);
		let mut r = Reader::new("b");
		assert_eq!(r.feed(b"--bXY"), Err(Error::Malformed));
		let mut r = Reader::new("b");
		let mut big = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\nX: ".to_vec();
		big.extend(std::iter::repeat_n(b'a', MAX_PART_HEAD + 10));
		assert_eq!(r.feed(&big), Err(Error::HeadTooLarge));
	}
}
