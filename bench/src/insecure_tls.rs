//! A TLS client configuration that accepts any server certificate: the
//! servers under test and benchmark all use self-signed ones. Shared by the
//! benchmark driver and the integration tests (`#[path]`), nothing else.

use std::sync::Arc;

use futures_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use futures_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use futures_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, SignatureScheme};

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

/// Client configuration (ring only) for `versions`, offering `alpn` if given.
pub fn client_config(versions: &[&'static rustls::SupportedProtocolVersion], alpn: Option<&[u8]>) -> Arc<ClientConfig> {
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
