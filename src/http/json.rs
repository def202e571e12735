//! The JSON body extractor: checks the media type, bounds the size, and reports fields that do
//! not deserialize with a JSON pointer to where they stand.

use super::problem::{HttpProblem, ProblemField, ProblemType};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

/// A request body parsed from JSON. Request types reject unknown fields themselves.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req.mime_type().ok().flatten().is_some_and(|mime| {
            mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json")
        });
        if !is_json {
            let problem = HttpProblem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ProblemType::UnsupportedMediaType,
                Some("send the body as application/json".into()),
            );
            return Box::pin(async move { Err(problem.into()) });
        }
        // Bytes honours the app's PayloadConfig limit and answers 413 past it.
        let body = Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await?;
            parse(&bytes).map(Json).map_err(Into::into)
        })
    }
}

/// A request body that may be left out: with no body at all (or `null`) it is `None`; with
/// one, it is read as [`Json`] reads it (media type, size, fields).
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let length = headers
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        let chunked = headers.contains_key(actix_web::http::header::TRANSFER_ENCODING);
        if length == Some(0) || (length.is_none() && !chunked) {
            return Box::pin(async { Ok(OptionalJson(None)) });
        }
        let body = Json::<Option<T>>::from_request(req, payload);
        Box::pin(async move { Ok(OptionalJson(body.await?.0)) })
    }
}

/// Whether the JSON text has a NUL character in a string (`\u0000`, the backslash itself not
/// escaped): PostgreSQL stores no NUL in text, so such input is refused before it gets there.
fn has_nul(bytes: &[u8]) -> bool {
    bytes.windows(6).enumerate().any(|(at, window)| {
        window.eq_ignore_ascii_case(b"\\u0000")
            && bytes[..at]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count()
                % 2
                == 0
    })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpProblem> {
    if has_nul(bytes) {
        return Err(HttpProblem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::Validation,
            Some("text may not contain NUL characters (\\u0000)".into()),
        ));
    }
    // Every body this API takes is an object; serde would also fill a struct from an array of
    // its fields in order, which the document does not allow.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(HttpProblem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::Validation,
            Some("the body must be a JSON object, not an array".into()),
        )
        .with_errors(vec![ProblemField {
            pointer: String::new(),
            code: "invalid_type".into(),
            detail: "must be an object".into(),
        }]));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer);
    if value.is_ok() {
        if let Err(trailing) = deserializer.end() {
            return Err(malformed(&trailing));
        }
    }
    value.map_err(|error| {
        if error.inner().is_data() {
            invalid_field(&error)
        } else {
            malformed(error.inner())
        }
    })
}

/// Whether `value` has the shape of a `T` (its fields, their types, nothing unknown), for a
/// handler that reads a body as JSON as it came but takes only what the document says it
/// takes; a 422 pointing at the first field that does not fit otherwise.
pub fn shaped_as<T: DeserializeOwned>(value: &serde_json::Value) -> Result<(), HttpProblem> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map(drop)
        .map_err(|error| invalid_field(&error))
}

fn invalid_field(error: &serde_path_to_error::Error<serde_json::Error>) -> HttpProblem {
    let pointer = pointer(error.path());
    let detail = strip_position(&error.inner().to_string());
    HttpProblem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ProblemType::Validation,
        Some(detail.clone()),
    )
    .with_errors(vec![ProblemField {
        pointer,
        code: "invalid".into(),
        detail,
    }])
}

fn malformed(error: &serde_json::Error) -> HttpProblem {
    HttpProblem::new(
        StatusCode::BAD_REQUEST,
        ProblemType::MalformedBody,
        Some(error.to_string()),
    )
}

fn pointer(path: &serde_path_to_error::Path) -> String {
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Map { key } => Some(key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .fold(String::new(), |mut acc, part| {
            acc.push('/');
            acc.push_str(&part);
            acc
        })
}

/// serde_json appends " at line L column C"; for field errors the pointer says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_in_strings_are_found() {
        assert!(has_nul(br#"{"q": "a\u0000b"}"#));
        assert!(has_nul(br#"{"q": "\\\u0000"}"#));
        assert!(!has_nul(br#"{"q": "\\u0000"}"#));
        assert!(!has_nul(br#"{"q": "u0000"}"#));
    }
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[allow(dead_code)]
        inner: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[allow(dead_code)]
        amount: u32,
    }

    #[test]
    fn points_at_the_bad_field() {
        let problem = parse::<Outer>(br#"{"inner": {"amount": -1}}"#).unwrap_err();
        assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.body.errors[0].pointer, "/inner/amount");
    }

    #[test]
    fn an_array_is_not_an_object_even_of_the_right_fields() {
        // serde alone fills `Inner` from `[1]`.
        let problem = parse::<Inner>(b" [1]").unwrap_err();
        assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(parse::<Inner>(br#"{"amount": 1}"#).is_ok());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let problem = parse::<Outer>(br#"{"inner": {"amount": 1, "extra": true}}"#).unwrap_err();
        assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(problem
            .body
            .detail
            .unwrap()
            .contains("unknown field `extra`"));
    }

    #[test]
    fn a_value_of_another_shape_is_pointed_at() {
        let value = serde_json::json!({"inner": {"amount": 1, "extra": true}});
        let problem = shaped_as::<Outer>(&value).unwrap_err();
        assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.body.errors[0].pointer, "/inner/extra");
        assert!(shaped_as::<Outer>(&serde_json::json!({"inner": {"amount": 1}})).is_ok());
    }

    #[test]
    fn syntax_errors_are_malformed() {
        for body in [
            &b"{\"inner\": "[..],
            b"not json",
            b"",
            b"{\"inner\":{\"amount\":1}} trailing",
        ] {
            let problem = parse::<Outer>(body).unwrap_err();
            assert_eq!(problem.status, StatusCode::BAD_REQUEST, "{body:?}");
        }
    }
}
