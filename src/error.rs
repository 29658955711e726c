//! Errors as text for places that keep one line per failure: plan and apply reasons, host rows,
//! watch passes. Owns no error type, and does no output (the CLI's printer shows an error with
//! one `Caused by:` line per cause).

/// The error and its causes on one line.
pub fn full_message(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}
