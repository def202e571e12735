//! Per-field validation errors, collected so that a client hears of every bad field at once.

use serde::Serialize;

/// One field that failed validation: a JSON pointer into the request body and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub pointer: String,
    pub code: &'static str,
    pub detail: String,
}

/// The errors found while parsing one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(
        &mut self,
        pointer: impl Into<String>,
        code: &'static str,
        detail: impl Into<String>,
    ) {
        self.0.push(FieldError {
            pointer: pointer.into(),
            code,
            detail: detail.into(),
        });
    }

    /// Keeps the value when parsing succeeded, records the error under `pointer` otherwise.
    pub fn take<T>(&mut self, pointer: &str, parsed: Result<T, Invalid>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(invalid) => {
                self.push(pointer, invalid.code, invalid.detail);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    pub fn as_slice(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    pub fn single(pointer: &str, invalid: Invalid) -> Self {
        let mut errors = Self::new();
        errors.push(pointer, invalid.code, invalid.detail);
        errors
    }
}

/// Why one value was rejected; the caller knows where it stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub detail: String,
}

impl Invalid {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

/// Trims `raw` and checks that its length in characters lies within `min..=max`.
pub fn bounded_text(raw: &str, min: usize, max: usize) -> Result<String, Invalid> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(if min == 1 {
            Invalid::new("required", "must not be empty")
        } else {
            Invalid::new("too_short", format!("must be at least {min} characters"))
        });
    }
    if len > max {
        return Err(Invalid::new(
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(Invalid::new(
            "control_characters",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_text_trims_and_bounds() {
        assert_eq!(bounded_text("  Gemeente  ", 1, 20).unwrap(), "Gemeente");
        assert_eq!(bounded_text("   ", 1, 20).unwrap_err().code, "required");
        assert_eq!(bounded_text("abc", 5, 20).unwrap_err().code, "too_short");
        assert_eq!(
            bounded_text(&"x".repeat(21), 1, 20).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            bounded_text("a\u{0}b", 1, 20).unwrap_err().code,
            "control_characters"
        );
    }

    #[test]
    fn collects_every_error() {
        let mut errors = FieldErrors::new();
        assert_eq!(errors.take("/a", Ok::<_, Invalid>(1)), Some(1));
        assert_eq!(
            errors.take::<i32>("/b", Err(Invalid::new("x", "bad"))),
            None
        );
        assert_eq!(
            errors.take::<i32>("/c", Err(Invalid::new("y", "worse"))),
            None
        );
        let all = errors.finish().unwrap_err().into_vec();
        assert_eq!(
            all.iter().map(|e| e.pointer.as_str()).collect::<Vec<_>>(),
            ["/b", "/c"]
        );
    }
}
