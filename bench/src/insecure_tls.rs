//! A TLS client configuration that accepts any server certificate: the
//! servers under test and benchmark all use self-signed ones. The code is
//! the server's own (server-to-server streams need the same); shared with
//! the integration tests through `#[path]`.

pub use xerra::net::tls::any_cert_client_config as client_config;
