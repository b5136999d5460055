//! One TLS crypto provider for the whole process. Both cloud SDKs use rustls; if no
//! process-wide provider is installed before a client is built, rustls cannot choose one
//! and panics on the first `https://` connection. Every store constructor calls this.

pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
