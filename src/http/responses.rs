//! The answers an operation gives because of its shape, said once for the whole document: a
//! bearer token can be refused (401), an id can name nothing (404), a query or a body can be
//! malformed (400), too large (413), of another media type (415) or invalid (422), an
//! `If-Match` can be missing (428) or stale (412), an `Idempotency-Key` malformed (400) or
//! reused (422), and the database can be out of reach (503).
//!
//! A handler's `#[utoipa::path]` lists what is particular to it (its 403, 409, 429 …, and a
//! shape status when it has more to say about it); [`complete`] adds each of these that it does
//! not list, as a reference to one shared response in `components.responses`. A new endpoint
//! gets them without a line of its own.

use super::problem::{ProblemType, PROBLEM_JSON};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// One shared problem response: its name in `components.responses`, its status, what it
/// means, and the problem types it carries.
struct Common {
    name: &'static str,
    status: u16,
    meaning: &'static str,
    kinds: &'static [ProblemType],
}

const UNAUTHENTICATED: Common = Common {
    name: "Unauthenticated",
    status: 401,
    meaning: "No access token, or one that is malformed, expired or of an account that is gone",
    kinds: &[ProblemType::Unauthenticated],
};
const NOT_FOUND: Common = Common {
    name: "NotFound",
    status: 404,
    meaning: "Nothing with that id that you may see (an id that is not a UUID names nothing)",
    kinds: &[ProblemType::NotFound],
};
const INVALID_QUERY: Common = Common {
    name: "InvalidQuery",
    status: 400,
    meaning: "A query parameter that is unknown, repeated or not of its type",
    kinds: &[ProblemType::InvalidQuery, ProblemType::BadRequest],
};
const MALFORMED_BODY: Common = Common {
    name: "MalformedBody",
    status: 400,
    meaning: "The body is not JSON",
    kinds: &[ProblemType::MalformedBody],
};
const PAYLOAD_TOO_LARGE: Common = Common {
    name: "PayloadTooLarge",
    status: 413,
    meaning: "The body is larger than the server takes",
    kinds: &[ProblemType::PayloadTooLarge],
};
const UNSUPPORTED_MEDIA_TYPE: Common = Common {
    name: "UnsupportedMediaType",
    status: 415,
    meaning: "The body is not of a media type this operation takes (see its `Content-Type`s)",
    kinds: &[ProblemType::UnsupportedMediaType],
};
const VALIDATION: Common = Common {
    name: "Validation",
    status: 422,
    meaning: "Invalid fields, each named by a JSON pointer in `errors`",
    kinds: &[ProblemType::Validation],
};
const PRECONDITION_FAILED: Common = Common {
    name: "PreconditionFailed",
    status: 412,
    meaning: "Changed since the version `If-Match` names; read it again",
    kinds: &[ProblemType::PreconditionFailed],
};
const PRECONDITION_REQUIRED: Common = Common {
    name: "PreconditionRequired",
    status: 428,
    meaning: "`If-Match` is missing",
    kinds: &[ProblemType::PreconditionRequired],
};
const IDEMPOTENCY_KEY_INVALID: Common = Common {
    name: "IdempotencyKeyInvalid",
    status: 400,
    meaning: "`Idempotency-Key` missing or not 1 to 255 visible ASCII characters",
    kinds: &[
        ProblemType::IdempotencyKeyMissing,
        ProblemType::IdempotencyKeyInvalid,
    ],
};
const IDEMPOTENCY_KEY_REUSED: Common = Common {
    name: "IdempotencyKeyReused",
    status: 422,
    meaning: "The `Idempotency-Key` was used before for another request, or the fields are invalid",
    kinds: &[ProblemType::IdempotencyKeyReused, ProblemType::Validation],
};
const UNAVAILABLE: Common = Common {
    name: "Unavailable",
    status: 503,
    meaning: "The database is out of reach or the service is busy for a moment; see `Retry-After`",
    kinds: &[ProblemType::Unavailable],
};

const ALL: [&Common; 12] = [
    &UNAUTHENTICATED,
    &NOT_FOUND,
    &INVALID_QUERY,
    &MALFORMED_BODY,
    &PAYLOAD_TOO_LARGE,
    &UNSUPPORTED_MEDIA_TYPE,
    &VALIDATION,
    &PRECONDITION_FAILED,
    &PRECONDITION_REQUIRED,
    &IDEMPOTENCY_KEY_INVALID,
    &IDEMPOTENCY_KEY_REUSED,
    &UNAVAILABLE,
];

/// The shared responses an operation of this shape can answer, in the order they are tried.
fn shape_of(path: &str, operation: &Operation) -> Vec<&'static Common> {
    let mut common = Vec::new();
    let has_parameter = |place: ParameterIn, name: Option<&str>| {
        operation.parameters.iter().flatten().any(|parameter| {
            parameter.parameter_in == place
                && name.is_none_or(|name| parameter.name.eq_ignore_ascii_case(name))
        })
    };
    let takes_token = operation.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement)
            .ok()
            .and_then(|value| value.as_object().map(|map| map.contains_key("bearer")))
            .unwrap_or(false)
    });
    if takes_token {
        common.push(&UNAUTHENTICATED);
    }
    if has_parameter(ParameterIn::Path, None) {
        common.push(&NOT_FOUND);
    }
    if has_parameter(ParameterIn::Header, Some("Idempotency-Key")) {
        common.push(&IDEMPOTENCY_KEY_INVALID);
        common.push(&IDEMPOTENCY_KEY_REUSED);
    }
    if has_parameter(ParameterIn::Query, None) {
        common.push(&INVALID_QUERY);
    }
    if let Some(body) = &operation.request_body {
        if body.content.keys().any(|media| media.ends_with("json")) {
            common.push(&MALFORMED_BODY);
        }
        common.extend([&PAYLOAD_TOO_LARGE, &UNSUPPORTED_MEDIA_TYPE, &VALIDATION]);
    }
    if has_parameter(ParameterIn::Header, Some("If-Match")) {
        common.extend([&PRECONDITION_FAILED, &PRECONDITION_REQUIRED]);
    }
    if path.starts_with("/api/") {
        common.push(&UNAVAILABLE);
    }
    common
}

/// Adds to every operation of `doc` the shared responses of its shape that it does not list
/// itself, and those responses to `components.responses`.
pub fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            for common in shape_of(path, operation) {
                operation
                    .responses
                    .responses
                    .entry(common.status.to_string())
                    .or_insert_with(|| {
                        RefOr::Ref(Ref::new(format!("#/components/responses/{}", common.name)))
                    });
            }
        }
    }
    let components = doc.components.get_or_insert_with(Default::default);
    for common in ALL {
        let kinds = common
            .kinds
            .iter()
            .map(|kind| format!("`{}`", kind.uri()))
            .collect::<Vec<_>>()
            .join(", ");
        let response = ResponseBuilder::new()
            .description(format!("{} ({kinds}).", common.meaning))
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        components
            .responses
            .insert(common.name.to_owned(), RefOr::T(response));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_shared_response_has_its_own_name() {
        let names: HashSet<&str> = ALL.iter().map(|common| common.name).collect();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn a_status_the_handler_lists_keeps_its_own_description() {
        let mut doc = crate::http::openapi();
        complete(&mut doc);
        let search = doc.paths.paths["/api/v1/listings"].get.as_ref().unwrap();
        let RefOr::T(bad_request) = &search.responses.responses["400"] else {
            panic!("the search's own 400 was replaced");
        };
        assert_eq!(bad_request.description, "Malformed query");
        assert!(search.responses.responses.contains_key("503"));
    }
}
