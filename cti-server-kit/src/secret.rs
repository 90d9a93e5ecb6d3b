//! Random tokens, stored digests and constant-time checks, shared by the
//! bridge's page tokens, the SSO sessions and credentials, and the API
//! tokens of the Ameyo and CCAI routes.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// `bytes` random bytes from the operating system, base64url without
/// padding (safe in URLs, header tokens and WebSocket subprotocols).
pub(crate) fn random_token(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// The SHA-256 of `bytes`: what is kept of a password or token, so that
/// checks compare fixed-length values.
pub(crate) fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Whether `given` hashes to one of `known`, in constant time (every
/// candidate is compared, whatever matched).
pub(crate) fn matches_any<'a>(given: &[u8], known: impl IntoIterator<Item = &'a [u8; 32]>) -> bool {
    use subtle::ConstantTimeEq as _;
    let d = digest(given);
    let mut hit = subtle::Choice::from(0);
    for k in known {
        hit |= d.ct_eq(k);
    }
    hit.into()
}

/// The SHA-256 of `text` in lower-case hex: what a store keeps instead
/// of a secret.
pub(crate) fn sha256_hex(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_hex_matches_the_standard_vector() {
        assert_eq!(
            super::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
