//! TLS configuration (rustls with the ring provider only): the admin's PEM
//! files, or a certificate signed by the box's own CA (see `ca`) kept in the
//! data directory. Rebuilt on SIGHUP.

use std::path::PathBuf;
use std::sync::Arc;

use futures_rustls::pki_types::pem::PemObject;
use futures_rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use futures_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use futures_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};

use super::ca::Ca;
use crate::config::Config;

#[derive(Debug)]
pub enum TlsError {
	Io(PathBuf, std::io::Error),
	Pem(PathBuf, String),
	Generate(String),
	Rustls(rustls::Error),
}

impl std::fmt::Display for TlsError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Io(p, e) => write!(f, "{}: {e}", p.display()),
			Self::Pem(p, e) => write!(f, "{}: not usable PEM: {e}", p.display()),
			Self::Generate(e) => write!(f, "cannot generate a certificate: {e}"),
			Self::Rustls(e) => write!(f, "TLS configuration: {e}"),
		}
	}
}

impl std::error::Error for TlsError {}

/// Where the certificate and key come from for this configuration: the
/// admin's files, or a certificate for the domain signed by the box's CA,
/// (re)issued when missing, from an older CA, or due for renewal.
pub fn cert_paths(config: &Config) -> Result<(PathBuf, PathBuf), TlsError> {
	if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
		return Ok((cert.clone(), key.clone()));
	}
	let dir = config.data_dir.join("tls");
	let cert = dir.join(format!("{}.crt", config.domain));
	let key = dir.join(format!("{}.key", config.domain));
	let ca = Ca::ensure(&dir)?;
	let current = std::fs::read_to_string(&cert).is_ok_and(|chain| chain.contains(ca.cert_pem.trim()));
	if !current || !key.exists() || super::ca::is_due(&cert) {
		let names = vec![config.domain.clone(), format!("*.{}", config.domain)];
		let (chain, key_pem) = ca.issue(&names)?;
		super::ca::write_private(&key, &key_pem)?;
		super::ca::write_public(&cert, &chain)?;
		log::info!("issued a certificate for {} signed by this box's CA", config.domain);
	}
	Ok((cert, key))
}

/// Loads the certificate and key and builds the server configuration.
pub fn load(config: &Config) -> Result<Arc<ServerConfig>, TlsError> {
	load_with_leaf(config).map(|(server, _)| server)
}

/// [`load`], with the server certificate itself (DER, the first of its
/// chain): the web page shows its fingerprints.
pub fn load_with_leaf(config: &Config) -> Result<(Arc<ServerConfig>, Vec<u8>), TlsError> {
	let (cert_path, key_path) = cert_paths(config)?;
	let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
		.map_err(|e| TlsError::Pem(cert_path.clone(), e.to_string()))?
		.collect::<Result<_, _>>()
		.map_err(|e| TlsError::Pem(cert_path.clone(), e.to_string()))?;
	if certs.is_empty() {
		return Err(TlsError::Pem(cert_path, "no certificate in file".into()));
	}
	let leaf = certs[0].to_vec();
	let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| TlsError::Pem(key_path.clone(), e.to_string()))?;
	// Only ring: building from an explicit provider cannot panic if another
	// provider is ever compiled in.
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let mut server = ServerConfig::builder_with_provider(provider)
		.with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
		.map_err(TlsError::Rustls)?
		.with_no_client_auth()
		.with_single_cert(certs, key)
		.map_err(TlsError::Rustls)?;
	// XEP-0368 clients may offer the "xmpp-client" ALPN; plain clients offer none.
	server.alpn_protocols = vec![b"xmpp-client".to_vec()];
	Ok((Arc::new(server), leaf))
}

/// RFC 5929 tls-server-end-point channel binding data: the hash of the
/// server's certificate, with its signature's hash (SHA-384 or SHA-512),
/// else SHA-256 (also for MD5 and SHA-1). Empty for no certificate.
pub fn server_end_point(leaf_der: &[u8]) -> Vec<u8> {
	if leaf_der.is_empty() {
		return Vec::new();
	}
	let oid = x509_parser::parse_x509_certificate(leaf_der).ok().map(|(_, c)| c.signature_algorithm.algorithm.to_id_string());
	let alg = match oid.as_deref() {
		// sha384WithRSAEncryption, ecdsa-with-SHA384
		Some("1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3") => &ring::digest::SHA384,
		// sha512WithRSAEncryption, ecdsa-with-SHA512
		Some("1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4") => &ring::digest::SHA512,
		_ => &ring::digest::SHA256,
	};
	ring::digest::digest(alg, leaf_der).as_ref().to_vec()
}

/// A certificate's notAfter (unix seconds), from its DER; None if it does not parse.
pub fn not_after(der: &[u8]) -> Option<i64> {
	let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
	Some(cert.validity().not_after.timestamp())
}

/// RFC 9266 tls-exporter channel binding, only for TLS 1.3 (for TLS 1.2 it
/// is safe only with extended master secret, which we cannot see here).
pub fn channel_binding(conn: &rustls::ServerConnection) -> Option<Vec<u8>> {
	if conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
		return None;
	}
	conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None).ok().map(|k| k.to_vec())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn not_after_is_read_from_the_certificate() {
		let key = rcgen::KeyPair::generate().unwrap();
		let mut params = rcgen::CertificateParams::new(vec!["expiry.test".to_owned()]).unwrap();
		params.not_after = time::OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
		let cert = params.self_signed(&key).unwrap();
		assert_eq!(not_after(cert.der()), Some(1_900_000_000));
		assert_eq!(not_after(b"not a certificate"), None);
	}

	#[test]
	fn server_end_point_hashes_with_the_signatures_hash() {
		let p256 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
		let cert = rcgen::CertificateParams::new(vec!["a.test".to_owned()]).unwrap().self_signed(&p256).unwrap();
		assert_eq!(server_end_point(cert.der()), ring::digest::digest(&ring::digest::SHA256, cert.der()).as_ref());
		let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
		let cert = rcgen::CertificateParams::new(vec!["a.test".to_owned()]).unwrap().self_signed(&p384).unwrap();
		assert_eq!(server_end_point(cert.der()), ring::digest::digest(&ring::digest::SHA384, cert.der()).as_ref());
		assert!(server_end_point(&[]).is_empty());
	}

	#[test]
	fn certificate_is_kept_until_due_then_reissued() {
		let dir = std::env::temp_dir().join(format!("xerra-renew-{}", std::process::id()));
		let _ = std::fs::remove_dir_all(&dir);
		let mut config = Config::new(dir.clone());
		config.set("domain", "renew.test").unwrap();
		let (cert, _) = cert_paths(&config).unwrap();
		let first = std::fs::read_to_string(&cert).unwrap();
		cert_paths(&config).unwrap();
		assert_eq!(std::fs::read_to_string(&cert).unwrap(), first, "a fresh certificate is kept");
		// Older than the renewal age: a new one from the same CA.
		let old = std::time::SystemTime::now() - super::super::ca::LEAF_RENEW_AFTER - std::time::Duration::from_secs(60);
		std::fs::File::options().write(true).open(&cert).unwrap().set_modified(old).unwrap();
		cert_paths(&config).unwrap();
		let second = std::fs::read_to_string(&cert).unwrap();
		assert_ne!(second, first);
		let ca = Ca::ensure(&dir.join("tls")).unwrap();
		assert!(second.contains(ca.cert_pem.trim()));
		load(&config).unwrap();
		std::fs::remove_dir_all(&dir).unwrap();
	}
}

/// Accepts any server certificate (see [`any_cert_client_config`]); still
/// checks the handshake signatures, so the stream is private to whoever
/// holds the key.
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
	fn verify_server_cert(
		&self,
		_: &CertificateDer<'_>,
		_: &[CertificateDer<'_>],
		_: &ServerName<'_>,
		_: &[u8],
		_: UnixTime,
	) -> Result<ServerCertVerified, rustls::Error> {
		Ok(ServerCertVerified::assertion())
	}
	fn verify_tls12_signature(
		&self,
		m: &[u8],
		c: &CertificateDer<'_>,
		d: &DigitallySignedStruct,
	) -> Result<HandshakeSignatureValid, rustls::Error> {
		rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
	}
	fn verify_tls13_signature(
		&self,
		m: &[u8],
		c: &CertificateDer<'_>,
		d: &DigitallySignedStruct,
	) -> Result<HandshakeSignatureValid, rustls::Error> {
		rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
	}
	fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
		self.0.signature_verification_algorithms.supported_schemes()
	}
}

/// A client configuration (ring only) for `versions`, offering `alpn` if
/// given, that takes any certificate: for server-to-server streams, whose
/// peer identity dialback checks (XEP-0220), and for the tests and the
/// benchmark, whose servers have self-signed certificates.
pub fn any_cert_client_config(versions: &[&'static rustls::SupportedProtocolVersion], alpn: Option<&[u8]>) -> Arc<ClientConfig> {
	let provider = Arc::new(rustls::crypto::ring::default_provider());
	let mut cfg = ClientConfig::builder_with_provider(provider.clone())
		.with_protocol_versions(versions)
		.expect("these protocol versions work with ring")
		.dangerous()
		.with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
		.with_no_client_auth();
	if let Some(a) = alpn {
		cfg.alpn_protocols = vec![a.to_vec()];
	}
	Arc::new(cfg)
}
