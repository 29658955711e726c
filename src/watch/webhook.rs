//! The git webhook's signature: GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the
//! body>` with a shared secret (Gitea, Forgejo and GitLab-compatible senders use the same form).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const HEADER: &str = "x-hub-signature-256";

/// Whether `header` is the right signature of `body` under `secret`. The comparison is constant
/// time; a missing, malformed or wrong signature is simply `false`.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = data_encoding::HEXLOWER_PERMISSIVE.decode(hex.as_bytes()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The header value a sender computes (for tests and for documentation examples).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    format!(
        "sha256={}",
        data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" page.
        assert_eq!(
            sign(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn accepts_only_the_right_signature() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let good = sign(b"s3cret", body);
        assert!(verify(b"s3cret", body, Some(&good)));
        assert!(verify(
            b"s3cret",
            body,
            Some(&good.to_uppercase().replace("SHA256=", "sha256="))
        ));
        assert!(!verify(b"other", body, Some(&good)), "wrong secret");
        assert!(!verify(b"s3cret", b"{}", Some(&good)), "other body");
        assert!(!verify(b"s3cret", body, None), "no header");
        assert!(
            !verify(b"s3cret", body, Some("sha1=abc")),
            "other algorithm"
        );
        assert!(!verify(b"s3cret", body, Some("sha256=zz")), "not hex");
        assert!(!verify(b"s3cret", body, Some("sha256=")), "empty");
    }
}
