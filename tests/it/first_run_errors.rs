//! The first-run page's forms answer a mistake where it was made: the message at the form
//! that failed (focused, the page scrolled there by the form's `#fragment`), what was typed
//! kept but never a secret, the account form quiet when another form failed, and an OS error
//! in words with what to do ("not found — check the drive letter…", never "(os error 2)").

use crate::support::*;

/// The part of `body` from the element with `id` on (panics when it is not there).
fn from_id<'a>(body: &'a str, id: &str) -> &'a str {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} on the page: {body}"));
    &body[at..]
}

/// The kit's secret line (what must never come back on a page).
fn secret_line(kit: &str) -> String {
    kit.lines()
        .find(|l| l.trim_start().starts_with("AGE-SECRET-KEY-1"))
        .unwrap_or_else(|| panic!("no key in the kit: {kit}"))
        .trim()
        .to_string()
}

/// The opening tag of the element with `id`.
fn tag<'a>(body: &'a str, id: &str) -> &'a str {
    let rest = from_id(body, id);
    let start = body.len() - rest.len();
    let open = body[..start].rfind('<').unwrap();
    let end = start + rest.find('>').unwrap();
    &body[open..=end]
}

#[test]
fn a_missing_folder_is_answered_at_the_target_form_in_words_with_what_was_typed() {
    let app = spawn_app();
    let visitor = app.client();
    let kit = backroom::offsite::keys::Keyring::generate(chrono::Utc::now()).to_file_text();
    let missing = app.data_dir().join("usb-stick-not-plugged-in");
    let path = missing.display().to_string();
    let res = connect_folder(&visitor, &path, &kit);
    assert_eq!(res.status, 400, "{}", res.body);
    let body = &res.body;
    // The message sits at the target form: after its heading, before the form, focused.
    let error = tag(body, "bring-back-target-error");
    assert!(error.contains("autofocus"), "{error}");
    let at_heading = body.len() - from_id(body, "from-target").len();
    let at_error = body.len() - from_id(body, "bring-back-target-error").len();
    let at_form = body.len() - from_id(body, "bring-back-target").len();
    assert!(at_heading < at_error && at_form > at_error, "{body}");
    // The form's address brings the browser back to it.
    assert!(
        body.contains("action=\"/first-run/connect#from-target\""),
        "{body}"
    );
    // In words, with what to do, without the OS's number.
    let said = &from_id(body, "bring-back-target-error")
        [..600.min(from_id(body, "bring-back-target-error").len())];
    assert!(said.contains("plugged in"), "{said}");
    assert!(!body.contains("os error"), "{body}");
    assert!(!body.contains("No such file"), "{body}");
    // What was typed is kept, the kit (a secret) is not.
    assert!(
        tag(body, "offsite-name").contains("value=\"usb-stick\""),
        "{body}"
    );
    assert!(
        tag(body, "offsite-path").contains(&format!("value=\"{path}\"")),
        "{body}"
    );
    assert!(
        !body.contains(&secret_line(&kit)),
        "the kit came back on the page"
    );
    // The account form neither takes the focus nor says its (untouched) passwords are empty.
    assert!(!tag(body, "username").contains("autofocus"), "{body}");
    assert!(!body.contains("id=\"password-note\""), "{body}");
    assert!(!body.contains("id=\"bring-back-file-error\""), "{body}");
}

#[test]
fn an_s3_form_with_a_mistake_keeps_the_fields_but_never_the_secret() {
    let app = spawn_app();
    let visitor = app.client();
    let secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
    let res = visitor.post_form(
        "/first-run/connect",
        &[
            ("kind", "s3"),
            ("name", "cloud"),
            ("endpoint", "https://s3.example.com"),
            ("region", "eu-central-1"),
            ("bucket", ""),
            ("access_key_id", "AKIAEXAMPLE"),
            ("secret_access_key", secret),
            (
                "kit",
                "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
            ),
        ],
    );
    assert_eq!(res.status, 400, "{}", res.body);
    let body = &res.body;
    assert!(!body.contains(secret), "the secret came back on the page");
    assert!(
        !body.contains("AGE-SECRET-KEY-1Q"),
        "the kit came back on the page"
    );
    assert!(
        tag(body, "offsite-key-id").contains("value=\"AKIAEXAMPLE\""),
        "{body}"
    );
    assert!(
        tag(body, "offsite-endpoint").contains("https://s3.example.com"),
        "{body}"
    );
    // The field at fault is marked (the page's script focuses it) and the form says why
    // the secret is empty.
    assert!(
        tag(body, "offsite-bucket").contains("aria-invalid=\"true\""),
        "{body}"
    );
    assert!(body.contains("id=\"bring-back-target-note\""), "{body}");
    assert!(!tag(body, "username").contains("autofocus"), "{body}");
    assert!(!body.contains("id=\"password-note\""), "{body}");
}

#[test]
fn a_wrong_kit_for_a_file_is_answered_at_the_file_form_and_the_account_form_keeps_its_own() {
    let app = spawn_app();
    let visitor = app.client();
    let wrong = backroom::offsite::keys::Keyring::generate(chrono::Utc::now()).to_file_text();
    let res = visitor.upload_form(
        "/first-run/upload",
        "copy.db.zst.age",
        b"not an age file".to_vec(),
        &[("key", &wrong)],
    );
    assert_eq!(res.status, 400, "{}", res.body);
    let body = &res.body;
    assert!(
        tag(body, "bring-back-file-error").contains("autofocus"),
        "{body}"
    );
    let at_heading = body.len() - from_id(body, "from-file").len();
    let at_error = body.len() - from_id(body, "bring-back-file-error").len();
    assert!(at_heading < at_error, "{body}");
    assert!(body.contains("#from-file\""), "{body}");
    assert!(
        !body.contains(&secret_line(&wrong)),
        "the kit came back on the page"
    );
    assert!(!body.contains("id=\"password-note\""), "{body}");
    assert!(!body.contains("os error"), "{body}");

    // The account form's own mistake: its note, its focus, no bring-back message.
    let res = visitor.post_form(
        "/first-run",
        &[
            ("username", "maria"),
            ("password", "short"),
            ("password2", "short"),
        ],
    );
    assert_eq!(res.status, 400, "{}", res.body);
    let body = &res.body;
    assert!(body.contains("id=\"password-note\""), "{body}");
    assert!(tag(body, "username").contains("autofocus"), "{body}");
    assert!(tag(body, "username").contains("value=\"maria\""), "{body}");
    assert!(
        !body.contains("short\""),
        "a password came back on the page"
    );
    assert!(!body.contains("bring-back-file-error"), "{body}");
    assert!(!body.contains("bring-back-target-error"), "{body}");
}

#[test]
fn a_file_where_a_folder_should_be_is_said_in_words_without_the_os_error_number() {
    let app = spawn_app();
    let visitor = app.client();
    let kit = backroom::offsite::keys::Keyring::generate(chrono::Utc::now()).to_file_text();
    let file = app.data_dir().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let path = file.join("backroom").display().to_string();
    let res = connect_folder(&visitor, &path, &kit);
    assert_eq!(res.status, 400, "{}", res.body);
    let error = from_id(&res.body, "bring-back-target-error");
    let said = &error[..error.find("</p>").unwrap()];
    assert!(said.contains(" — "), "said with what to do: {said}");
    assert!(!res.body.contains("os error"), "{said}");
    assert!(!res.body.contains("Not a directory"), "{said}");
}

/// The first-run "connect" form for a folder target named usb-stick at `path`.
fn connect_folder(visitor: &Client, path: &str, kit: &str) -> Resp {
    visitor.post_form(
        "/first-run/connect",
        &[
            ("kind", "folder"),
            ("name", "usb-stick"),
            ("path", path),
            ("kit", kit),
        ],
    )
}
