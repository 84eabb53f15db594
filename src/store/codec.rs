//! A small binary record encoding for values in redb: fields in a fixed order,
//! integers as LEB128, byte strings length-prefixed. Each record starts with a
//! version byte so a later schema can still read old rows.

/// Appends fields to a record.
#[derive(Default)]
pub struct Writer {
	buf: Vec<u8>,
}

impl Writer {
	pub fn new(version: u8) -> Writer {
		Writer { buf: vec![version] }
	}

	pub fn u64(&mut self, mut v: u64) -> &mut Self {
		loop {
			let byte = (v & 0x7f) as u8;
			v >>= 7;
			if v == 0 {
				self.buf.push(byte);
				return self;
			}
			self.buf.push(byte | 0x80);
		}
	}

	pub fn bool(&mut self, v: bool) -> &mut Self {
		self.buf.push(v as u8);
		self
	}

	pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
		self.u64(v.len() as u64);
		self.buf.extend_from_slice(v);
		self
	}

	pub fn str(&mut self, v: &str) -> &mut Self {
		self.bytes(v.as_bytes())
	}

	/// An optional string: a presence flag, then the string.
	pub fn opt_str(&mut self, v: Option<&str>) -> &mut Self {
		self.bool(v.is_some());
		if let Some(s) = v {
			self.str(s);
		}
		self
	}

	pub fn finish(&mut self) -> Vec<u8> {
		std::mem::take(&mut self.buf)
	}
}

/// A field could not be read: the row is corrupt or from an unknown schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// Reads fields back in the order they were written.
pub struct Reader<'a> {
	buf: &'a [u8],
}

impl<'a> Reader<'a> {
	/// Starts reading; returns the record's version byte too.
	pub fn new(buf: &'a [u8]) -> Result<(Reader<'a>, u8), Corrupt> {
		let (&version, rest) = buf.split_first().ok_or(Corrupt)?;
		Ok((Reader { buf: rest }, version))
	}

	pub fn u64(&mut self) -> Result<u64, Corrupt> {
		let mut v: u64 = 0;
		for shift in (0..64).step_by(7) {
			let (&byte, rest) = self.buf.split_first().ok_or(Corrupt)?;
			self.buf = rest;
			v |= u64::from(byte & 0x7f) << shift;
			if byte & 0x80 == 0 {
				return Ok(v);
			}
		}
		Err(Corrupt)
	}

	pub fn u32(&mut self) -> Result<u32, Corrupt> {
		u32::try_from(self.u64()?).map_err(|_| Corrupt)
	}

	pub fn bool(&mut self) -> Result<bool, Corrupt> {
		let (&byte, rest) = self.buf.split_first().ok_or(Corrupt)?;
		self.buf = rest;
		match byte {
			0 => Ok(false),
			1 => Ok(true),
			_ => Err(Corrupt),
		}
	}

	pub fn bytes(&mut self) -> Result<&'a [u8], Corrupt> {
		let len = usize::try_from(self.u64()?).map_err(|_| Corrupt)?;
		if len > self.buf.len() {
			return Err(Corrupt);
		}
		let (v, rest) = self.buf.split_at(len);
		self.buf = rest;
		Ok(v)
	}

	pub fn string(&mut self) -> Result<String, Corrupt> {
		String::from_utf8(self.bytes()?.to_vec()).map_err(|_| Corrupt)
	}

	pub fn opt_string(&mut self) -> Result<Option<String>, Corrupt> {
		if self.bool()? { self.string().map(Some) } else { Ok(None) }
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn round_trip() {
		let buf = Writer::new(1).u64(0).u64(300).u64(u64::MAX).bool(true).str("héllo").opt_str(None).opt_str(Some("x")).finish();
		let (mut r, v) = Reader::new(&buf).unwrap();
		assert_eq!(v, 1);
		assert_eq!(r.u64().unwrap(), 0);
		assert_eq!(r.u64().unwrap(), 300);
		assert_eq!(r.u64().unwrap(), u64::MAX);
		assert!(r.bool().unwrap());
		assert_eq!(r.string().unwrap(), "héllo");
		assert_eq!(r.opt_string().unwrap(), None);
		assert_eq!(r.opt_string().unwrap().as_deref(), Some("x"));
	}

	#[test]
	fn truncated_input_is_corrupt_not_panic() {
		let buf = Writer::new(1).str("abcdef").u64(u64::MAX).finish();
		for cut in 0..buf.len() {
			let Ok((mut r, _)) = Reader::new(&buf[..cut]) else { continue };
			let _ = r.string();
			let _ = r.u64();
		}
		let (mut r, _) = Reader::new(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).unwrap();
		assert_eq!(r.u64(), Err(Corrupt));
	}
}
