//! Client certificate policies rustls does not ship, for the toolkit's `client_auth_type`s
//! that take a certificate without verifying it (`RequestClientCert`, `RequireAnyClientCert`)
//! and for `client_allowed_sans`. Which policy a configuration gets is `tls`'s choice.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// Takes any certificate the client shows, as Go does for `RequestClientCert` and
/// `RequireAnyClientCert`: the client still proves it holds the certificate's key (the
/// handshake signature is checked); who issued it is not.
#[derive(Debug)]
pub struct AnyClientCert {
    pub mandatory: bool,
    pub algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `client_allowed_sans` over another policy: after it accepts a certificate, one of the
/// certificate's subject alternative names (DNS names, e-mail addresses, IP addresses, URIs,
/// written as Go writes them) must equal an allowed entry. A client must show a certificate,
/// whatever the policy underneath: without one there is no name to match, and the toolkit
/// refuses such a connection too.
#[derive(Debug)]
pub struct AllowedSans {
    pub inner: Arc<dyn ClientCertVerifier>,
    pub allowed: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let names = subject_alt_names(end_entity).ok_or(rustls::Error::InvalidCertificate(
            CertificateError::BadEncoding,
        ))?;
        if names.iter().any(|n| self.allowed.contains(n)) {
            Ok(verified)
        } else {
            tracing::debug!(found = ?names, allowed = ?self.allowed, "client certificate names none of client_allowed_sans");
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The certificate's subject alternative names as Go's `x509` lists them for the toolkit:
/// DNS names, e-mail addresses, IP addresses (`net.IP.String`), URIs. `None` when the
/// certificate cannot be parsed.
pub fn subject_alt_names(cert: &CertificateDer<'_>) -> Option<Vec<String>> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let Some(ext) = cert.subject_alternative_name().ok()? else {
        return Some(Vec::new());
    };
    let mut names = Vec::new();
    for name in &ext.value.general_names {
        match name {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                names.push((*s).to_string());
            }
            GeneralName::IPAddress(bytes) => {
                if let Some(ip) = ip_string(bytes) {
                    names.push(ip);
                }
            }
            _ => {}
        }
    }
    Some(names)
}

/// Go's `net.IP.String`: dotted quad for IPv4 and IPv4-mapped IPv6, RFC 5952 otherwise.
fn ip_string(bytes: &[u8]) -> Option<String> {
    let ip = match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => {
            let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
        _ => return None,
    };
    Some(ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_go_lists_them() {
        let mut params = rcgen::CertificateParams::new(vec!["client.example".into()]).unwrap();
        params.subject_alt_names.extend([
            rcgen::SanType::Rfc822Name("ops@example.com".try_into().unwrap()),
            rcgen::SanType::IpAddress("10.0.0.7".parse().unwrap()),
            rcgen::SanType::IpAddress("2001:db8::1".parse().unwrap()),
            rcgen::SanType::URI("spiffe://example/ops".try_into().unwrap()),
        ]);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            subject_alt_names(cert.der()).unwrap(),
            [
                "client.example",
                "ops@example.com",
                "10.0.0.7",
                "2001:db8::1",
                "spiffe://example/ops"
            ]
        );
        assert_eq!(
            ip_string(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]).unwrap(),
            "1.2.3.4"
        );
        assert!(subject_alt_names(&CertificateDer::from(vec![1, 2, 3])).is_none());
    }
}
