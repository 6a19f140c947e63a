use super::*;

fn config() -> S3Config {
    S3Config {
        endpoint: "http://127.0.0.1:3900".into(),
        region: "garage".into(),
        bucket: "shop".into(),
        prefix: "backroom".into(),
        path_style: true,
        allow_http: true,
        access_key_id: "GK1".into(),
        secret_access_key: "s3cr3t".into(),
    }
}

/// An error shaped like object_store's: the store's answer is in a source's text.
fn answered(text: &str, not_found: bool) -> object_store::Error {
    let source = Box::new(io::Error::other(text.to_string()));
    if not_found {
        object_store::Error::NotFound {
            path: "backroom/x".into(),
            source,
        }
    } else {
        object_store::Error::Generic {
            store: "S3",
            source,
        }
    }
}

const FORBIDDEN: &str = "Error performing GET http://127.0.0.1:3900/shop?list-type=2 in 1ms - \
    Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\"?><Error>\
    <Code>AccessDenied</Code><Message>Forbidden: Invalid signature</Message></Error>";

#[test]
fn the_answer_is_read_from_the_error_text() {
    assert_eq!(
        parse_answer(FORBIDDEN),
        Answer {
            status: Some(403),
            code: Some("AccessDenied".into())
        }
    );
    assert_eq!(
        parse_answer("Server returned non-2xx status code: 404 Not Found: "),
        Answer {
            status: Some(404),
            code: None
        }
    );
    assert_eq!(
        parse_answer("Server returned error response: <Error><Code>InternalError</Code>"),
        Answer {
            status: None,
            code: Some("InternalError".into())
        }
    );
    assert_eq!(
        parse_answer("<Code></Code> connection refused"),
        Answer::default()
    );
    assert_eq!(parse_answer("status code: 4"), Answer::default());
}

#[test]
fn errors_are_told_apart_by_status_and_code() {
    let config = config();
    assert!(matches!(
        classify(answered(FORBIDDEN, false), &config, false),
        StoreError::Credentials { .. }
    ));
    let no_bucket = "Server returned non-2xx status code: 404 Not Found: \
        <Error><Code>NoSuchBucket</Code></Error>";
    let error = classify(answered(no_bucket, true), &config, false);
    assert!(
        matches!(&error, StoreError::NoBucket { bucket, .. } if bucket == "shop"),
        "{error:?}"
    );
    assert!(!is_missing_object(&answered(no_bucket, true)));
    let no_key = "Server returned non-2xx status code: 404 Not Found: \
        <Error><Code>NoSuchKey</Code></Error>";
    assert!(is_missing_object(&answered(no_key, true)));
    assert!(matches!(
        classify(answered(no_key, true), &config, true),
        StoreError::Remote { .. }
    ));
    // A bare 404 (a HEAD, or a store without a body) names the bucket only where asked.
    let bare = "Server returned non-2xx status code: 404 Not Found: ";
    assert!(matches!(
        classify(answered(bare, false), &config, true),
        StoreError::NoBucket { .. }
    ));
    assert!(matches!(
        classify(answered(bare, true), &config, false),
        StoreError::Remote { .. }
    ));
    let busy = "Server returned non-2xx status code: 503 Service Unavailable: \
        <Error><Code>SlowDown</Code></Error>";
    let error = classify(answered(busy, false), &config, true);
    assert!(matches!(error, StoreError::Remote { .. }), "{error:?}");
    assert!(!format!("{error:?}").contains("s3cr3t"));
}

#[test]
fn a_name_that_makes_no_object_path_is_a_settings_error_with_its_cause() {
    let store = S3Store::new(config()).unwrap();
    let error = store.path("..").unwrap_err();
    assert!(
        matches!(&error, StoreError::Settings(SettingsProblem::ObjectName(_))),
        "{error:?}"
    );
    let cause = std::error::Error::source(&error).expect("the path error is kept");
    let said = crate::error_chain::chain(&error);
    assert!(
        said.starts_with("the storage settings are not valid: "),
        "{said}"
    );
    assert_eq!(said.matches(&cause.to_string()).count(), 1, "{said}");
}
