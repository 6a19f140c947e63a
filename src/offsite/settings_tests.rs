use super::*;

fn folder(name: &str) -> Target {
    Target {
        name: name.into(),
        location: Location::Folder {
            path: std::env::temp_dir().join("copies"),
        },
        enabled: true,
        keep: Keep::default(),
    }
}

#[test]
fn targets_round_trip_through_toml() {
    let settings = OffsiteSettings {
        targets: vec![
            folder("usb"),
            Target {
                name: "b2".into(),
                location: Location::S3 {
                    endpoint: "https://s3.example.com".into(),
                    region: "eu".into(),
                    bucket: "shop".into(),
                    prefix: "backroom".into(),
                    path_style: true,
                    allow_http: false,
                },
                enabled: false,
                keep: Keep {
                    keep_last: 3,
                    ..Keep::default()
                },
            },
        ],
        ..OffsiteSettings::default()
    };
    let text = toml::to_string(&settings).unwrap();
    assert!(text.contains("kind = \"s3\""), "{text}");
    assert!(!text.contains("secret"), "{text}");
    let back: OffsiteSettings = toml::from_str(&text).unwrap();
    assert_eq!(back, settings);
    assert!(settings.validate().is_ok());
}

#[test]
fn bad_targets_are_refused_field_by_field() {
    let mut bad = folder("USB stick");
    bad.location = Location::Folder {
        path: PathBuf::from("relative/path"),
    };
    let settings = OffsiteSettings {
        targets: vec![bad, folder("a"), folder("a")],
        ..OffsiteSettings::default()
    };
    let errors = settings.validate().unwrap_err();
    assert!(errors.get("name").contains("lower-case"));
    assert!(errors.get("path").contains("whole path"));
}

#[test]
fn secrets_stay_private_and_never_debug_print() {
    let dir = tempfile::tempdir().unwrap();
    let mut secrets = Secrets::default();
    secrets.s3.insert(
        "b2".into(),
        S3Credentials {
            access_key_id: "AKIA".into(),
            secret_access_key: "very-secret".into(),
        },
    );
    let paths = crate::config::Paths::new(dir.path());
    secrets.save(&paths).unwrap();
    assert!(crate::platform::is_owner_only(&paths.offsite_secrets()).unwrap());
    assert_eq!(Secrets::load(&paths).unwrap(), secrets);
    assert!(!format!("{secrets:?}").contains("very-secret"));
}

#[test]
fn an_endpoint_with_a_name_and_password_inside_is_refused() {
    for (endpoint, refused) in [
        ("https://key:secret@s3.example.com", true),
        ("http://key@127.0.0.1:3900/", true),
        ("https://s3.example.com", false),
        ("https://s3.example.com/path@x", false),
    ] {
        let mut target = folder("s3");
        target.location = Location::S3 {
            endpoint: endpoint.into(),
            region: "eu".into(),
            bucket: "shop".into(),
            prefix: String::new(),
            path_style: true,
            allow_http: true,
        };
        let mut errors = FieldErrors::default();
        target.check(&mut errors);
        assert_eq!(
            errors
                .get("endpoint")
                .contains("Leave the name and password out"),
            refused,
            "{endpoint}"
        );
    }
}

#[test]
fn plain_http_needs_the_targets_own_permission() {
    for (endpoint, allow_http, refused) in [
        ("http://127.0.0.1:3900", false, true),
        ("http://127.0.0.1:3900", true, false),
        ("https://s3.example.com", false, false),
    ] {
        let mut target = folder("s3");
        target.location = Location::S3 {
            endpoint: endpoint.into(),
            region: String::new(),
            bucket: "shop".into(),
            prefix: String::new(),
            path_style: true,
            allow_http,
        };
        let mut errors = FieldErrors::default();
        target.check(&mut errors);
        assert_eq!(
            errors.get("endpoint").contains("own network"),
            refused,
            "{endpoint} {allow_http}"
        );
    }
    // A target saved before the setting existed keeps working; a new save carries it.
    let old: OffsiteSettings = toml::from_str(
        "[[targets]]\nname = \"nas\"\nkind = \"s3\"\nendpoint = \"http://nas:9000\"\nbucket = \"b\"\n",
    )
    .unwrap();
    assert!(matches!(
        old.targets[0].location,
        Location::S3 {
            allow_http: true,
            ..
        }
    ));
    assert!(old.validate().is_ok());
    assert!(toml::to_string(&old).unwrap().contains("allow_http = true"));
}
