//! The simulator's certificate authority and the rustls server configuration (ring provider only).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::SimError;

/// A freshly generated CA and the server configuration whose leaf it signed.
pub(crate) struct TlsMaterial {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

/// Generates a CA and a leaf for `127.0.0.1` and `localhost`, and builds the rustls config.
pub(crate) fn generate_tls_material() -> Result<TlsMaterial, SimError> {
    let certificate_error = |error: rcgen::Error| SimError::Certificate(error.to_string());

    let ca_key = KeyPair::generate().map_err(certificate_error)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(certificate_error)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "cloud-sim test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_certificate = ca_params.self_signed(&ca_key).map_err(certificate_error)?;
    let ca_issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(certificate_error)?;
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(certificate_error)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "cloud-sim");
    let leaf_certificate = leaf_params
        .signed_by(&leaf_key, &ca_issuer)
        .map_err(certificate_error)?;

    let certificate_chain: Vec<CertificateDer<'static>> =
        vec![leaf_certificate.der().clone(), ca_certificate.der().clone()];
    let private_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| SimError::Tls(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certificate_chain, private_key)
        .map_err(|error| SimError::Tls(error.to_string()))?;
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];

    Ok(TlsMaterial {
        ca_pem: ca_certificate.pem(),
        server_config: Arc::new(server_config),
    })
}
