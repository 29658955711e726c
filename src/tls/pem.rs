//! Finding PEM blocks in text that may hold several, and other lines between them (openssl's
//! `Bag Attributes`, comments, a certificate and its key in one HAProxy file).

use x509_cert::der::pem;
use zeroize::Zeroizing;

use super::CertError;

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";

/// One `-----BEGIN label-----` ... `-----END label-----` block, not yet decoded.
pub(super) struct Block<'a> {
    pub(super) label: &'a str,
    text: &'a [u8],
}

impl<'a> Block<'a> {
    /// The block as written, BEGIN to END line.
    pub(super) fn text(&self) -> &'a [u8] {
        self.text
    }

    /// The block's DER bytes. `what` names the input in errors ("certificate", "private key").
    /// Zeroizing, since key blocks come through here too.
    pub(super) fn decode(&self, what: &'static str) -> Result<Zeroizing<Vec<u8>>, CertError> {
        // RFC 1421 headers: what old-style encrypted keys (`Proc-Type: 4,ENCRYPTED`) have.
        if self.label.ends_with("PRIVATE KEY") && find(self.text, b"Proc-Type:").is_some() {
            return Err(CertError::EncryptedKey);
        }
        match pem::decode_vec(self.text) {
            Ok((_, der)) => Ok(Zeroizing::new(der)),
            Err(error) => Err(CertError::Pem {
                what,
                reason: error.to_string(),
            }),
        }
    }
}

/// Every block in `input`, in order. Text outside blocks is skipped; a block without its END
/// line is an error, since a truncated file should not pass for a shorter one.
pub(super) fn blocks<'a>(input: &'a [u8], what: &'static str) -> Result<Vec<Block<'a>>, CertError> {
    let mut out = Vec::new();
    let mut rest = input;
    // Offsets come from `find` on the same slice, so `get` always succeeds; it is `get` anyway
    // so that no input can make this panic.
    while let Some(from_begin) = find(rest, BEGIN).and_then(|start| rest.get(start..)) {
        let after_begin = from_begin.get(BEGIN.len()..).unwrap_or_default();
        let label = find(after_begin, DASHES)
            .and_then(|len| after_begin.get(..len))
            .ok_or_else(|| unterminated(what))?;
        let label = std::str::from_utf8(label).map_err(|_| CertError::Pem {
            what,
            reason: "the BEGIN line's label is not text".into(),
        })?;
        let end_line = format!("-----END {label}-----");
        let block_len = find(from_begin, end_line.as_bytes())
            .map(|end| end + end_line.len())
            .ok_or_else(|| unterminated(what))?;
        let (text, after) = from_begin
            .split_at_checked(block_len)
            .ok_or_else(|| unterminated(what))?;
        out.push(Block { label, text });
        rest = after;
    }
    Ok(out)
}

fn unterminated(what: &'static str) -> CertError {
    CertError::Pem {
        what,
        reason: "a `-----BEGIN` line has no matching `-----END` line".into(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
