//! Clarifai status codes → [`TagError`]. Codes from
//! <https://docs.clarifai.com/resources/api-overview/status-codes>: 10000 ok, 10010 mixed
//! success (look at each output), 10030 try again, 11xxx connection / key / throttling, 21xxx
//! model, 30xxx input (image download or decode), 98xxx-99xxx internal.

use imgtag_core::TagError;

use crate::wire::Status;

pub(crate) const SUCCESS: u32 = 10000;
pub(crate) const MIXED_STATUS: u32 = 10010;

/// A failed status (of the call or of one output) as a tagging error.
pub(crate) fn to_error(status: &Status) -> TagError {
    let code = status.code;
    let text = status.text();
    match code {
        // TRY_AGAIN, and the hourly / monthly / rate / account limits: time fixes these.
        10030 | 11003..=11006 => TagError::Unavailable(format!(
            "Clarifai asked to retry later: {text} (status {code})"
        )),
        // Bad or missing key, insufficient scopes, malformed auth header (11102), ...:
        // retrying cannot help, the operator must fix the key.
        11000..=11999 => refused(&format!("{text} (status {code})")),
        // Model missing, not permitted, bad model arguments: the configuration is wrong.
        21000..=21999 => TagError::BadImage(format!(
            "Clarifai model error: {text} (status {code}); check [tagger] model"
        )),
        // Input errors: the image could not be downloaded or decoded.
        30000..=39999 => TagError::BadImage(format!(
            "Clarifai could not read the image: {text} (status {code})"
        )),
        // Internal errors and anything unknown: retried, within the job's bounded attempts.
        _ => TagError::Unavailable(format!("Clarifai failed: {text} (status {code})")),
    }
}

/// The key was refused: permanent, with a reason that says what to fix.
pub(crate) fn refused(detail: &str) -> TagError {
    TagError::BadImage(format!(
        "Clarifai refused the API key: {detail}; check the secret named by [tagger] \
         key_parameter, then retag"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(code: u32) -> Status {
        Status {
            code,
            description: "d".into(),
            details: String::new(),
        }
    }

    #[test]
    fn codes_map_to_permanent_or_transient_errors() {
        let transient = |c| matches!(to_error(&st(c)), TagError::Unavailable(_));
        for c in [10030, 11004, 11005, 99009, 98004, 10020] {
            assert!(transient(c), "{c} should be retried");
        }
        for c in [11008, 11009, 11102, 21200, 30002, 30100] {
            assert!(!transient(c), "{c} should not be retried");
        }
        let TagError::BadImage(reason) = to_error(&st(11008)) else {
            unreachable!()
        };
        assert!(reason.contains("refused the API key"), "{reason}");
    }
}
