//! The TLS client settings of an SMTP connection from a `tls_config` (as Prometheus'
//! `config.NewTLSConfig`): the CA bundle replaces the built-in roots (webpki's, where Go
//! uses the system's), a client certificate and key, `server_name` (else the smarthost's
//! host), `insecure_skip_verify`, and the TLS version bounds rustls supports (1.2 and 1.3).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use bongsu_httpclient::{TlsConfig, TlsVersion};

/// A rustls client configuration for `tls`.
pub fn client_config(tls: &TlsConfig) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let rank = |v: TlsVersion| match v {
        TlsVersion::Tls10 | TlsVersion::Tls11 => 0,
        TlsVersion::Tls12 => 2,
        TlsVersion::Tls13 => 3,
    };
    let min = tls.min_version.map_or(0, rank);
    let max = tls.max_version.map_or(3, rank);
    let versions: Vec<_> = [(2, &rustls::version::TLS12), (3, &rustls::version::TLS13)]
        .into_iter()
        .filter(|(r, _)| (min..=max).contains(r))
        .map(|(_, v)| v)
        .collect();
    if versions.is_empty() {
        return Err(
            "tls_config allows only TLS versions older than 1.2, which are not supported".into(),
        );
    }
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| e.to_string())?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        match pem(&tls.ca, &tls.ca_file, "ca_file")? {
            Some(ca) => {
                for cert in CertificateDer::pem_slice_iter(&ca) {
                    let cert = cert.map_err(|e| format!("bad CA certificate: {e}"))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("bad CA certificate: {e}"))?;
                }
                if roots.is_empty() {
                    return Err("unable to use specified CA cert: no certificates found".into());
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots)
    };
    let cert = pem(&tls.cert, &tls.cert_file, "cert_file")?;
    let key = pem(tls.key.expose(), &tls.key_file, "key_file")?;
    let config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("bad client certificate: {e}"))?;
            let key =
                PrivateKeyDer::from_pem_slice(&key).map_err(|e| format!("bad client key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("bad client certificate or key: {e}"))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("tls_config needs both a client certificate and its key".into()),
    };
    Ok(Arc::new(config))
}

/// The name the server's certificate must carry: `server_name`, else `host`.
pub fn server_name(tls: &TlsConfig, host: &str) -> Result<ServerName<'static>, String> {
    let name = if tls.server_name.is_empty() {
        host
    } else {
        &tls.server_name
    };
    ServerName::try_from(name.to_string()).map_err(|e| format!("invalid server name {name:?}: {e}"))
}

fn pem(
    inline: &str,
    file: &Option<std::path::PathBuf>,
    what: &str,
) -> Result<Option<Vec<u8>>, String> {
    match file {
        Some(f) => std::fs::read(f)
            .map(Some)
            .map_err(|e| format!("unable to read {what} {}: {e}", f.display())),
        None if inline.is_empty() => Ok(None),
        None => Ok(Some(inline.as_bytes().to_vec())),
    }
}

/// `insecure_skip_verify`: any certificate is accepted (the handshake's signatures are
/// still checked).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
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
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
