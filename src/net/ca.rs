//! The box's private certificate authority (LAN TLS without a public CA).
//!
//! At first start Xerra makes an ECDSA P-256 root that lives only in the data
//! directory; clients trust it once (its certificate is downloadable from the
//! local web page, its SHA-256 fingerprint is shown on the console), and every
//! server certificate the box uses is signed by it. Leaves follow the rules
//! Apple clients enforce for every CA, private ones included: names in SAN,
//! EKU serverAuth, at most 825 days (we use 397, the public-CA limit).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rcgen::{
	BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
	SerialNumber,
};
use ring::rand::{SecureRandom as _, SystemRandom};

use super::tls::TlsError;

/// How long the root is valid: longer than the box will live.
const CA_DAYS: i64 = 3650 * 2;
/// How long a server certificate is valid (Apple accepts at most 825 days).
pub const LEAF_DAYS: i64 = 397;
/// A server certificate older than this is replaced at the next start or reload.
pub const LEAF_RENEW_AFTER: Duration = Duration::from_secs(265 * 86400);

pub struct Ca {
	pub cert_pem: String,
	pub cert_der: Vec<u8>,
	key: KeyPair,
}

impl Ca {
	pub fn cert_path(dir: &Path) -> PathBuf {
		dir.join("ca.crt")
	}

	/// Loads the CA from `dir` (the data directory's `tls/`), making one first if there is none.
	pub fn ensure(dir: &Path) -> Result<Ca, TlsError> {
		let cert_path = Ca::cert_path(dir);
		let key_path = dir.join("ca.key");
		if cert_path.exists() && key_path.exists() {
			let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| TlsError::Io(p.to_owned(), e));
			let key = KeyPair::from_pem(&read(&key_path)?).map_err(|e| TlsError::Pem(key_path.clone(), e.to_string()))?;
			let cert_pem = read(&cert_path)?;
			let cert_der = pem_to_der(&cert_pem).ok_or_else(|| TlsError::Pem(cert_path.clone(), "no certificate".into()))?;
			return Ok(Ca { cert_pem, cert_der, key });
		}
		let key = KeyPair::generate().map_err(generate_error)?;
		let params = ca_params(&key);
		let cert = params.self_signed(&key).map_err(generate_error)?;
		std::fs::create_dir_all(dir).map_err(|e| TlsError::Io(dir.to_owned(), e))?;
		// Key first, so a crash in between never leaves a certificate without its key.
		write_private(&key_path, &key.serialize_pem())?;
		write_public(&cert_path, &cert.pem())?;
		log::info!("made this box's certificate authority in {}", dir.display());
		Ok(Ca { cert_pem: cert.pem(), cert_der: cert.der().to_vec(), key })
	}

	/// SHA-256 of the CA certificate, as colon-separated hex (what browsers and OSes show).
	pub fn fingerprint(&self) -> String {
		fingerprint(&self.cert_der)
	}

	/// A server certificate for `names` signed by this CA: (chain PEM, key PEM).
	pub fn issue(&self, names: &[String]) -> Result<(String, String), TlsError> {
		let key = KeyPair::generate().map_err(generate_error)?;
		let mut params = CertificateParams::new(names.to_vec()).map_err(generate_error)?;
		let mut dn = DistinguishedName::new();
		dn.push(DnType::CommonName, names.first().cloned().unwrap_or_default());
		params.distinguished_name = dn;
		params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
		params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
		params.use_authority_key_identifier_extension = true;
		params.serial_number = Some(serial());
		let now = time::OffsetDateTime::now_utc();
		params.not_before = now - time::Duration::hours(1);
		params.not_after = now + time::Duration::days(LEAF_DAYS);
		// Rebuilt from the key: the issuer name is derived from it, so it
		// matches the stored CA certificate without parsing it.
		let ca_params = ca_params(&self.key);
		let issuer = Issuer::from_params(&ca_params, &self.key);
		let cert = params.signed_by(&key, &issuer).map_err(generate_error)?;
		Ok((format!("{}{}", cert.pem(), self.cert_pem), key.serialize_pem()))
	}
}

/// The root's parameters; everything in them is fixed or derived from the key.
fn ca_params(key: &KeyPair) -> CertificateParams {
	let mut params = CertificateParams::default();
	let mut dn = DistinguishedName::new();
	dn.push(DnType::OrganizationName, "Xerra");
	// The key's hash tells two boxes' CAs apart in a client's trust store.
	let id = ring::digest::digest(&ring::digest::SHA256, key.public_key_raw());
	let id: String = id.as_ref()[..4].iter().map(|b| format!("{b:02X}")).collect();
	dn.push(DnType::CommonName, format!("Xerra local CA {id}"));
	params.distinguished_name = dn;
	params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
	params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
	let now = time::OffsetDateTime::now_utc();
	params.not_before = now - time::Duration::hours(1);
	params.not_after = now + time::Duration::days(CA_DAYS);
	params.serial_number = Some(serial());
	params
}

fn serial() -> SerialNumber {
	let mut b = [0u8; 16];
	// The OS random source failing is not something to work around.
	SystemRandom::new().fill(&mut b).expect("system random number generator failed");
	b[0] &= 0x7f; // positive
	SerialNumber::from_slice(&b)
}

fn generate_error(e: rcgen::Error) -> TlsError {
	TlsError::Generate(e.to_string())
}

pub fn fingerprint(der: &[u8]) -> String {
	let d = ring::digest::digest(&ring::digest::SHA256, der);
	d.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// The first certificate in a PEM text, as DER.
pub fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
	use futures_rustls::pki_types::CertificateDer;
	use futures_rustls::pki_types::pem::PemObject as _;
	CertificateDer::pem_slice_iter(pem.as_bytes()).next()?.ok().map(|c| c.to_vec())
}

/// Whether a certificate file is older than the renewal age.
pub fn is_due(path: &Path) -> bool {
	let age = std::fs::metadata(path).and_then(|m| m.modified()).ok().and_then(|t| SystemTime::now().duration_since(t).ok());
	age.is_none_or(|a| a > LEAF_RENEW_AFTER)
}

/// Writes a key, readable by us only (through a temporary file and a
/// rename, so a crash never leaves half a file).
pub fn write_private(path: &Path, text: &str) -> Result<(), TlsError> {
	write_file(path, text, 0o600)
}

/// Writes a certificate (the same way, world-readable).
pub fn write_public(path: &Path, text: &str) -> Result<(), TlsError> {
	write_file(path, text, 0o644)
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), TlsError> {
	use std::io::Write as _;
	use std::os::unix::fs::OpenOptionsExt as _;
	// Its own temporary name (DOMAIN.key and DOMAIN.crt must not share one).
	let mut tmp = path.as_os_str().to_owned();
	tmp.push(".tmp");
	let tmp = PathBuf::from(tmp);
	let _ = std::fs::remove_file(&tmp);
	let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp).map_err(|e| TlsError::Io(tmp.clone(), e))?;
	f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(|e| TlsError::Io(tmp.clone(), e))?;
	std::fs::rename(&tmp, path).map_err(|e| TlsError::Io(path.to_owned(), e))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn ca_survives_reload_and_signs_leaves_for_its_names() {
		let dir = std::env::temp_dir().join(format!("xerra-ca-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		let ca = Ca::ensure(&dir).unwrap();
		let again = Ca::ensure(&dir).unwrap();
		assert_eq!(ca.fingerprint(), again.fingerprint());
		assert_eq!(ca.fingerprint().len(), 32 * 3 - 1);
		let (chain, key) = again.issue(&["xerra.test".into()]).unwrap();
		assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
		assert!(key.contains("PRIVATE KEY"));
		// A verifier that trusts only the CA accepts the leaf for its name.
		use futures_rustls::rustls;
		use rustls::client::danger::ServerCertVerifier as _;
		let mut roots = rustls::RootCertStore::empty();
		roots.add(ca.cert_der.clone().into()).unwrap();
		let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
		let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider).build().unwrap();
		let leaf = pem_to_der(&chain).unwrap();
		let name = rustls::pki_types::ServerName::try_from("xerra.test").unwrap();
		let now = rustls::pki_types::UnixTime::now();
		verifier.verify_server_cert(&leaf.clone().into(), &[], &name, &[], now).unwrap();
		let other = rustls::pki_types::ServerName::try_from("other.test").unwrap();
		assert!(verifier.verify_server_cert(&leaf.into(), &[], &other, &[], now).is_err());
		std::fs::remove_dir_all(&dir).unwrap();
	}
}
