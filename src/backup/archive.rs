//! The stream: tar entries, gzip, age. Writing hashes every entry; reading
//! checks the header first, every hash, and that the stream ends where age
//! says it does (so a cut file is never taken for a whole one).

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use age::secrecy::SecretString;
use ring::digest::{Context, SHA256};

use super::manifest::{self, Bad, HEADER_NAME, Header, Manifest, SUMS_NAME};
use super::{BackupError, Recipient, Secret};

/// Longest metadata entry read into memory.
const MAX_META: u64 = 1 << 20;
/// scrypt work factor (log2 N) for a passphrase: 128 MiB of memory and
/// about half a second on a Raspberry Pi 4. age would aim at a second on the
/// machine making the file, which on a fast PC means a gigabyte: more than
/// a 1 GiB box can spare to open it.
const WORK_FACTOR: u8 = 17;
/// Largest work factor accepted when opening (256 MiB): files from other
/// age tools may use more than ours.
const MAX_WORK_FACTOR: u8 = 18;

/// Entries as (name, bytes, SHA-256).
pub(super) type Entries = Vec<(String, u64, [u8; 32])>;

/// An age + gzip + tar stream being written.
pub(super) struct Packer<W: Write> {
	tar: tar::Builder<flate2::write::GzEncoder<age::stream::StreamWriter<W>>>,
	entries: Entries,
	mtime: u64,
}

#[allow(deprecated)] // X25519 recovery keys: see `generate_key`.
fn encryptor(to: &Recipient) -> Result<age::Encryptor, BackupError> {
	match to {
		Recipient::Passphrase(p) if p.is_empty() => Err(BackupError::BadKey("the passphrase is empty".into())),
		Recipient::Passphrase(p) => {
			let mut r = age::scrypt::Recipient::new(SecretString::from(p.clone()));
			r.set_work_factor(WORK_FACTOR);
			age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).map_err(|e| BackupError::BadKey(e.to_string()))
		}
		Recipient::Key(r) => {
			let r: age::x25519::Recipient =
				r.trim().parse().map_err(|_| BackupError::BadKey(format!("{r:?} is not a recovery key's public half (age1...)")))?;
			age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).map_err(|e| BackupError::BadKey(e.to_string()))
		}
	}
}

impl<W: Write> Packer<W> {
	/// Starts the stream with the header entry.
	pub(super) fn new(out: W, to: &Recipient, header: &Header) -> Result<Packer<W>, BackupError> {
		let age = encryptor(to)?.wrap_output(out).map_err(io_err("the backup file"))?;
		let gz = flate2::write::GzEncoder::new(age, flate2::Compression::default());
		let mut p = Packer { tar: tar::Builder::new(gz), entries: Vec::new(), mtime: header.created };
		let text = header.encode();
		p.entry(HEADER_NAME, text.len() as u64, text.as_bytes()).map_err(io_err("the backup file"))?;
		Ok(p)
	}

	fn entry(&mut self, name: &str, size: u64, data: impl Read) -> io::Result<[u8; 32]> {
		let mut h = tar::Header::new_gnu();
		h.set_size(size);
		h.set_mode(0o600);
		h.set_mtime(self.mtime);
		h.set_entry_type(tar::EntryType::Regular);
		let mut r = Hashing::new(data.take(size));
		self.tar.append_data(&mut h, name, &mut r)?;
		if r.n != size {
			// tar has written a short entry: the whole file is abandoned.
			return Err(io::Error::other(format!("{name} changed while it was read ({} of {size} bytes)", r.n)));
		}
		Ok(r.finish())
	}

	/// Adds `size` bytes from `data` as `name`, hashed.
	pub(super) fn add(&mut self, name: &str, size: u64, data: impl Read) -> io::Result<()> {
		let hash = self.entry(name, size, data)?;
		self.entries.push((name.to_owned(), size, hash));
		Ok(())
	}

	/// Adds a file as `name`.
	pub(super) fn add_file(&mut self, name: &str, path: &Path) -> io::Result<()> {
		let f = File::open(path)?;
		let size = f.metadata()?.len();
		self.add(name, size, BufReader::with_capacity(64 << 10, f))
	}

	/// Writes the sums and ends every layer; returns the output and the entries.
	pub(super) fn finish(mut self) -> io::Result<(W, Entries)> {
		let sums = manifest::encode_sums(&self.entries);
		self.entry(SUMS_NAME, sums.len() as u64, sums.as_bytes())?;
		let gz = self.tar.into_inner()?;
		let age = gz.finish()?;
		Ok((age.finish()?, self.entries))
	}
}

fn io_err(what: &str) -> impl Fn(io::Error) -> BackupError + '_ {
	move |e| BackupError::Io { path: PathBuf::from(what), error: e.to_string() }
}

/// SHA-256 and length of what passes through.
struct Hashing<R> {
	inner: R,
	ctx: Context,
	n: u64,
	/// The first read error, so a caller can tell reading from writing failures.
	failed: Option<io::Error>,
}

impl<R> Hashing<R> {
	fn new(inner: R) -> Hashing<R> {
		Hashing { inner, ctx: Context::new(&SHA256), n: 0, failed: None }
	}

	fn finish(self) -> [u8; 32] {
		let mut out = [0; 32];
		out.copy_from_slice(self.ctx.finish().as_ref());
		out
	}
}

impl<R: Read> Read for Hashing<R> {
	fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
		match self.inner.read(buf) {
			Ok(n) => {
				self.ctx.update(&buf[..n]);
				self.n += n as u64;
				Ok(n)
			}
			Err(e) => {
				self.failed = Some(io::Error::new(e.kind(), e.to_string()));
				Err(e)
			}
		}
	}
}

/// Counts bytes read from the file, to tell a cut-off end from damage.
struct Counting<R> {
	inner: R,
	pos: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
	fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
		let n = self.inner.read(buf)?;
		self.pos.set(self.pos.get() + n as u64);
		Ok(n)
	}
}

#[allow(deprecated)]
fn secret_identity(secret: &Secret) -> Result<Box<dyn age::Identity>, BackupError> {
	Ok(match secret {
		Secret::Passphrase(p) => {
			let mut id = age::scrypt::Identity::new(SecretString::from(p.clone()));
			id.set_max_work_factor(MAX_WORK_FACTOR);
			Box::new(id)
		}
		Secret::Key(k) => {
			let id: age::x25519::Identity =
				k.trim().parse().map_err(|_| BackupError::BadKey("that is not a recovery key (AGE-SECRET-KEY-1...)".into()))?;
			Box::new(id)
		}
	})
}

/// Reads a backup through: `check` sees the header first, then `place(name)`
/// says where to write each entry (a new file, fsynced), or `None` to only
/// check it. Returns the manifest
/// once everything has checked out; on an error, files already placed stay
/// for the caller to remove.
pub(super) fn read(
	file: &Path,
	secret: &Secret,
	max_schema: u64,
	check: impl FnOnce(&Header) -> Result<(), BackupError>,
	mut place: impl FnMut(&str) -> Option<PathBuf>,
) -> Result<Manifest, BackupError> {
	let f = File::open(file).map_err(|e| BackupError::Io { path: file.to_owned(), error: e.to_string() })?;
	let len = f.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
	let pos = Rc::new(Cell::new(0));
	// A small buffer: how far the file was read tells where a failing chunk was.
	let input = BufReader::with_capacity(8 << 10, Counting { inner: f, pos: pos.clone() });
	// A read error: the file's end reached means it was cut short.
	let damaged = |e: io::Error| -> BackupError {
		if e.kind() == io::ErrorKind::UnexpectedEof || pos.get() >= len {
			BackupError::Truncated
		} else {
			BackupError::Corrupt(format!("the encrypted data does not check out ({e})"))
		}
	};
	let decryptor = match age::Decryptor::new_buffered(input) {
		Ok(d) => d,
		Err(age::DecryptError::Io(e)) => return Err(damaged(e)),
		Err(age::DecryptError::InvalidHeader | age::DecryptError::UnknownFormat) => {
			return Err(if starts_like_age(file) { BackupError::Corrupt("its header is damaged".into()) } else { BackupError::NotABackup });
		}
		Err(e) => return Err(BackupError::Corrupt(e.to_string())),
	};
	let identity = secret_identity(secret)?;
	let plain = match decryptor.decrypt(std::iter::once(identity.as_ref())) {
		Ok(r) => r,
		Err(age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed) => {
			return Err(BackupError::WrongKey);
		}
		Err(age::DecryptError::ExcessiveWork { required, .. }) => {
			return Err(BackupError::BadKey(format!(
				"this backup's passphrase takes more memory to check than Xerra allows (scrypt work factor {required}, at most {MAX_WORK_FACTOR})"
			)));
		}
		// The header's MAC covers every stanza: a wrong passphrase fails
		// earlier (above), so this is damage.
		Err(age::DecryptError::InvalidMac) => return Err(BackupError::Corrupt("its header is damaged".into())),
		Err(age::DecryptError::Io(e)) => return Err(damaged(e)),
		Err(e) => return Err(BackupError::Corrupt(e.to_string())),
	};
	let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(plain));
	let mut entries = archive.entries().map_err(&damaged)?;
	let mut next = || -> Result<Option<tar::Entry<'_, _>>, BackupError> { entries.next().transpose().map_err(&damaged) };

	let meta = |e: &mut dyn Read| -> Result<String, BackupError> {
		let mut s = String::new();
		e.take(MAX_META).read_to_string(&mut s).map_err(&damaged)?;
		Ok(s)
	};
	let header = {
		let mut e = next()?.ok_or(BackupError::NotABackup)?;
		if entry_name(&e)? != HEADER_NAME {
			return Err(BackupError::Corrupt(format!("it does not start with {HEADER_NAME}")));
		}
		let text = meta(&mut e)?;
		Header::decode(&text, max_schema).map_err(|b| match b {
			Bad::Newer { format, schema, version } => BackupError::Newer { format, schema, version },
			Bad::Malformed(why) => BackupError::Corrupt(why),
		})?
	};
	check(&header)?;
	let mut got: Entries = Vec::new();
	let sums = loop {
		let Some(mut e) = next()? else {
			return Err(BackupError::Truncated);
		};
		let name = entry_name(&e)?;
		if name == SUMS_NAME {
			break meta(&mut e)?;
		}
		if !manifest::allowed_name(&name) || got.iter().any(|(n, _, _)| *n == name) {
			return Err(BackupError::Corrupt(format!("unexpected entry {name:?}")));
		}
		let size = e.header().size().map_err(&damaged)?;
		let mut r = Hashing::new(&mut e);
		let copied = match place(&name) {
			Some(path) => write_new(&path, &mut r),
			None => io::copy(&mut r, &mut io::sink()).map(drop),
		};
		if let Err(e) = copied {
			return Err(match r.failed.take() {
				Some(read) => damaged(read),
				None => BackupError::Io { path: PathBuf::from(name), error: e.to_string() },
			});
		}
		if r.n != size {
			return Err(BackupError::Truncated);
		}
		let n = r.n;
		got.push((name, n, r.finish()));
	};
	if next()?.is_some() {
		return Err(BackupError::Corrupt(format!("entries after {SUMS_NAME}")));
	}
	// Read to the very end: gzip's CRC, then age's last chunk.
	let mut gz = archive.into_inner();
	io::copy(&mut gz, &mut io::sink()).map_err(&damaged)?;
	let mut rest = gz.into_inner();
	if io::copy(&mut rest, &mut io::sink()).map_err(&damaged)? != 0 {
		return Err(BackupError::Corrupt("data after the end of the archive".into()));
	}
	let sums = manifest::decode_sums(&sums).map_err(|b| BackupError::Corrupt(format!("{b:?}")))?;
	if sums.len() != got.len() {
		return Err(BackupError::Corrupt(format!("{SUMS_NAME} lists {} entries, the archive has {}", sums.len(), got.len())));
	}
	for ((name, hash), (gname, _, ghash)) in sums.iter().zip(&got) {
		if name != gname || hash != ghash {
			return Err(BackupError::Corrupt(format!("{gname}: its SHA-256 does not match")));
		}
	}
	if !got.iter().any(|(n, _, _)| n == "xerra.redb") {
		return Err(BackupError::Corrupt("no database in it".into()));
	}
	Ok(Manifest { header, entries: got })
}

fn entry_name<R: Read>(e: &tar::Entry<'_, R>) -> Result<String, BackupError> {
	let p = e.path().map_err(|_| BackupError::Corrupt("an entry name is not text".into()))?;
	p.to_str().map(str::to_owned).ok_or_else(|| BackupError::Corrupt("an entry name is not text".into()))
}

fn starts_like_age(file: &Path) -> bool {
	let mut head = [0u8; 21];
	File::open(file).and_then(|mut f| f.read_exact(&mut head)).is_ok() && head.starts_with(b"age-encryption.org/")
}

/// Writes a new file (never over an existing one), fsynced, mode 0600.
fn write_new(path: &Path, data: &mut impl Read) -> io::Result<()> {
	use std::os::unix::fs::OpenOptionsExt as _;
	let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
	io::copy(data, &mut f)?;
	f.flush()?;
	f.sync_all()
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::backup::manifest::{Counts, FORMAT_VERSION};

	fn header(schema: u64) -> Header {
		Header {
			format: FORMAT_VERSION,
			schema,
			version: "t".into(),
			domain: "example.org".into(),
			created: 1,
			counts: Counts::default(),
			unpacked: 300_005,
		}
	}

	/// An upload of random bytes, so the file spans several age chunks.
	fn noise() -> Vec<u8> {
		use ring::rand::SecureRandom as _;
		let mut v = vec![0u8; 300_000];
		ring::rand::SystemRandom::new().fill(&mut v).unwrap();
		v
	}

	fn pack(to: &Recipient, schema: u64) -> Vec<u8> {
		let mut p = Packer::new(Vec::new(), to, &header(schema)).unwrap();
		p.add("xerra.redb", 5, &b"hello"[..]).unwrap();
		p.add("uploads/a", 300_000, noise().as_slice()).unwrap();
		p.finish().unwrap().0
	}

	fn read_bytes(bytes: &[u8], secret: &Secret) -> Result<Manifest, BackupError> {
		use std::sync::atomic::{AtomicU32, Ordering};
		static N: AtomicU32 = AtomicU32::new(0);
		let path = std::env::temp_dir().join(format!("xerra-archive-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
		std::fs::write(&path, bytes).unwrap();
		let r = read(&path, secret, 1, |_| Ok(()), |_| None);
		let _ = std::fs::remove_file(&path);
		r
	}

	#[test]
	fn a_key_round_trip_and_every_damage_is_named() {
		let key = crate::backup::generate_key();
		let bytes = pack(&Recipient::Key(key.recipient.clone()), 1);
		let secret = Secret::Key(key.secret.clone());
		let m = read_bytes(&bytes, &secret).unwrap();
		assert_eq!(m.header.domain, "example.org");
		assert_eq!(m.entries.iter().map(|(n, s, _)| (n.as_str(), *s)).collect::<Vec<_>>(), [("xerra.redb", 5), ("uploads/a", 300_000)]);

		let other = crate::backup::generate_key();
		assert!(matches!(read_bytes(&bytes, &Secret::Key(other.secret)), Err(BackupError::WrongKey)));
		assert!(matches!(read_bytes(&bytes, &Secret::Passphrase("x".into())), Err(BackupError::WrongKey)));
		// Cut inside a chunk, at a chunk's end (64 KiB + 16), anywhere.
		let mac = bytes.windows(5).position(|w| w == b"\n--- ").unwrap() + 1;
		let header_len = mac + bytes[mac..].iter().position(|&b| b == b'\n').unwrap() + 1;
		for cut in [bytes.len() - 1, bytes.len() - 20, bytes.len() / 2 + 40, header_len + 16 + 65552, 200] {
			let r = read_bytes(&bytes[..cut], &secret);
			assert!(matches!(r, Err(BackupError::Truncated)), "cut at {cut}: {r:?}");
		}
		for at in [10, bytes.len() / 2, bytes.len() - 2] {
			let mut b = bytes.clone();
			b[at] ^= 0x20;
			let r = read_bytes(&b, &secret);
			assert!(r.is_err(), "a flipped byte at {at} went unnoticed");
		}
		let mut b = bytes.clone();
		b[bytes.len() / 3] ^= 1;
		let r = read_bytes(&b, &secret);
		assert!(matches!(r, Err(BackupError::Corrupt(_))), "{r:?}");
		assert!(matches!(read_bytes(b"PK\x03\x04 not age at all", &secret), Err(BackupError::NotABackup)));
	}

	#[test]
	fn a_passphrase_round_trip_and_a_newer_schema() {
		let to = Recipient::Passphrase("correct horse".into());
		let bytes = pack(&to, 1);
		assert!(read_bytes(&bytes, &Secret::Passphrase("correct horse".into())).is_ok());
		assert!(matches!(read_bytes(&bytes, &Secret::Passphrase("wrong".into())), Err(BackupError::WrongKey)));
		let newer = pack(&to, 2);
		assert!(matches!(read_bytes(&newer, &Secret::Passphrase("correct horse".into())), Err(BackupError::Newer { schema: 2, .. })));
		assert!(matches!(Packer::new(Vec::new(), &Recipient::Passphrase(String::new()), &header(1)), Err(BackupError::BadKey(_))));
	}
}
