//! TLS for the server from a web configuration: rustls with ring, the toolkit's cipher suite
//! and curve names mapped onto what rustls offers, the client certificate policy of
//! `client_auth_type` and `client_allowed_sans`, HTTP/2 offered unless `http2: false`. Owns
//! building a `ServerConfig`, not when it is rebuilt (`watch`).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::{NamedGroup, RootCertStore, ServerConfig};

use super::client_cert::{AllowedSans, AnyClientCert};
use super::web_config::{ClientAuth, Pem, TlsSettings, TlsVersion, WebConfigError};

/// Go's names of the key exchange groups and rustls' (ring offers no P-521).
const CURVES: &[(&str, Option<NamedGroup>)] = &[
    ("CurveP256", Some(NamedGroup::secp256r1)),
    ("CurveP384", Some(NamedGroup::secp384r1)),
    ("CurveP521", None),
    ("X25519", Some(NamedGroup::X25519)),
];

fn invalid(msg: impl Into<String>) -> WebConfigError {
    WebConfigError::Invalid(msg.into())
}

fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Go's name of a suite: the IANA name rustls uses, but `TLS_AES_…` where rustls says
/// `TLS13_AES_…`.
fn go_name(suite: &rustls::SupportedCipherSuite) -> String {
    format!("{:?}", suite.suite()).replacen("TLS13_", "TLS_", 1)
}

/// Checks a Go cipher suite name: one rustls offers, or a TLS 1.3 suite (which Go does not
/// let a configuration choose either, so it is accepted and changes nothing).
pub fn check_cipher_suite(name: &str) -> Result<(), WebConfigError> {
    if provider().cipher_suites.iter().any(|s| go_name(s) == name) {
        return Ok(());
    }
    if name.starts_with("TLS_ECDHE_") || name.starts_with("TLS_RSA_") {
        return Err(invalid(format!(
            "cipher {name} is not supported by bongsu (rustls offers only AEAD suites with forward secrecy)"
        )));
    }
    Err(invalid(format!("unknown cipher: {name}")))
}

pub fn check_curve(name: &str) -> Result<(), WebConfigError> {
    match CURVES.iter().find(|(n, _)| *n == name) {
        Some((_, Some(_))) => Ok(()),
        Some((_, None)) => Err(invalid(format!("curve {name} is not supported by bongsu"))),
        None => Err(invalid(format!("unknown curve: {name}"))),
    }
}

fn read(pem: &Pem, what: &str) -> Result<Vec<u8>, WebConfigError> {
    match pem {
        Pem::Inline(text) => Ok(text.as_bytes().to_vec()),
        Pem::File(path) => std::fs::read(path)
            .map_err(|e| invalid(format!("failed to read {what} ({}): {e}", path.display()))),
    }
}

/// The rustls configuration the settings describe, reading the certificate, key and CA now.
pub fn server_config(t: &TlsSettings) -> Result<Arc<ServerConfig>, WebConfigError> {
    let mut provider = provider();
    if !t.cipher_suites.is_empty() {
        provider.cipher_suites.retain(|s| {
            // TLS 1.3 suites stay: Go's configurations cannot remove them either.
            matches!(s, rustls::SupportedCipherSuite::Tls13(_))
                || t.cipher_suites
                    .iter()
                    .any(|n| *n == format!("{:?}", s.suite()))
        });
    }
    if !t.curves.is_empty() {
        let groups: Vec<NamedGroup> = t
            .curves
            .iter()
            .filter_map(|n| CURVES.iter().find(|(c, _)| c == n).and_then(|(_, g)| *g))
            .collect();
        provider.kx_groups.retain(|g| groups.contains(&g.name()));
        provider
            .kx_groups
            .sort_by_key(|g| groups.iter().position(|n| *n == g.name()));
    }
    let provider = Arc::new(provider);
    let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    if t.min_version <= TlsVersion::Tls12 && t.max_version >= TlsVersion::Tls12 {
        versions.push(&rustls::version::TLS12);
    }
    if t.max_version >= TlsVersion::Tls13 {
        versions.push(&rustls::version::TLS13);
    }
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| invalid(e.to_string()))?;
    let builder = match client_verifier(t, &provider)? {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&read(&t.cert, "cert_file")?)
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(format!("failed to load X509KeyPair: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(
            "failed to load X509KeyPair: tls: failed to find any PEM data in certificate input",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&read(&t.key, "key_file")?)
        .map_err(|e| invalid(format!("failed to load X509KeyPair: {e}")))?;
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| invalid(format!("failed to load X509KeyPair: {e}")))?;
    config.alpn_protocols = if t.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// The client certificate policy; `None`: no certificate is asked for.
fn client_verifier(
    t: &TlsSettings,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, WebConfigError> {
    let policy: Option<Arc<dyn ClientCertVerifier>> = match (t.client_auth, &t.client_ca) {
        (ClientAuth::NoClientCert, _) => None,
        (ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert, _) => {
            Some(Arc::new(AnyClientCert {
                mandatory: t.client_auth == ClientAuth::RequireAnyClientCert,
                algorithms: provider.signature_verification_algorithms,
            }))
        }
        (_, None) => {
            return Err(invalid(
                "client certificates cannot be verified without client_ca_file or client_ca",
            ))
        }
        (
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert,
            Some(ca),
        ) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&read(ca, "client_ca_file")?) {
                let cert = cert.map_err(|e| invalid(format!("client CA: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| invalid(format!("client CA: {e}")))?;
            }
            if roots.is_empty() {
                return Err(invalid("client CA: no certificates found"));
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let verifier = if t.client_auth == ClientAuth::VerifyClientCertIfGiven {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            Some(
                verifier
                    .build()
                    .map_err(|e| invalid(format!("client CA: {e}")))?,
            )
        }
    };
    let Some(allowed) = &t.allowed_sans else {
        return Ok(policy);
    };
    if !matches!(
        t.client_auth,
        ClientAuth::RequireAnyClientCert | ClientAuth::RequireAndVerifyClientCert
    ) {
        tracing::warn!(
            client_auth_type = ?t.client_auth,
            "client_allowed_sans makes a client certificate required: clients without one are refused"
        );
    }
    let inner = policy.unwrap_or_else(|| {
        Arc::new(AnyClientCert {
            mandatory: true,
            algorithms: provider.signature_verification_algorithms,
        })
    });
    Ok(Some(Arc::new(AllowedSans {
        inner,
        allowed: allowed.clone(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_go() {
        assert!(check_cipher_suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").is_ok());
        assert!(check_cipher_suite("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256").is_ok());
        assert!(check_cipher_suite("TLS_AES_128_GCM_SHA256").is_ok());
        assert!(check_cipher_suite("TLS_RSA_WITH_AES_128_CBC_SHA")
            .unwrap_err()
            .to_string()
            .contains("not supported"));
        assert_eq!(
            check_cipher_suite("NOPE").unwrap_err().to_string(),
            "unknown cipher: NOPE"
        );
        assert!(check_curve("X25519").is_ok());
        assert_eq!(
            check_curve("P999").unwrap_err().to_string(),
            "unknown curve: P999"
        );
    }
}
