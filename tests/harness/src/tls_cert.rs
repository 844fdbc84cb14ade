//! A private certificate authority and a server certificate it signs, written as PEM files:
//! the server's TURN over TLS in tests, trusted by clients through `SSL_CERT_FILE`.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// Where `write_test_certificate` put its files.
pub struct TestCertificate {
    /// The authority's certificate: what a client must trust.
    pub ca_file: PathBuf,
    /// The server's certificate for the domain, signed by the authority.
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// Writes a new authority and a certificate for `domain` into `dir`.
pub fn write_test_certificate(domain: &str, dir: &Path) -> Result<TestCertificate, String> {
    let failed = |e: rcgen::Error| format!("certificate for {domain}: {e}");
    let ca_key = KeyPair::generate().map_err(failed)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "livekit-core test CA");
    let ca = ca_params.self_signed(&ca_key).map_err(failed)?;

    let key = KeyPair::generate().map_err(failed)?;
    let mut params = CertificateParams::new(vec![domain.to_string()]).map_err(failed)?;
    params.distinguished_name.push(DnType::CommonName, domain);
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(failed)?;

    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let files =
        TestCertificate { ca_file: dir.join("ca.pem"), cert_file: dir.join("cert.pem"), key_file: dir.join("key.pem") };
    for (path, pem) in
        [(&files.ca_file, ca.pem()), (&files.cert_file, cert.pem()), (&files.key_file, key.serialize_pem())]
    {
        std::fs::write(path, pem).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(files)
}
