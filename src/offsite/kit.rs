//! The emergency kit: a plain text page with the secret key, where the copies are, and how to
//! get the data back in plain words, with Backroom or with the standard `age` and `zstd`
//! tools. Every line but the key lines starts with `#`, so the kit file itself is an age
//! identity file: `age -d -i kit.txt -o NAME.db.zst NAME.db.zst.age` works as written. The
//! steps use no pipes or redirection: Windows PowerShell 5.1 re-encodes binary data sent
//! through `|` or `>`, which would damage the database.

use age::secrecy::ExposeSecret;
use chrono::{DateTime, Utc};

use super::keys::Keyring;
use super::settings::{Location, Target};

pub const KIT_FILE_NAME: &str = "backroom-emergency-kit.txt";

/// Kit text being written: comment lines and key lines.
struct Page(String);

impl Page {
    fn say(&mut self, s: &str) {
        if s.is_empty() {
            self.0.push_str("#\n");
        } else {
            self.0.push_str("# ");
            self.0.push_str(s);
            self.0.push('\n');
        }
    }
}

/// The places a kit names, as recorded when it is saved ("usb: folder /media/usb"), sorted.
pub fn places(targets: &[Target]) -> Vec<String> {
    let mut places: Vec<String> = targets
        .iter()
        .map(|t| format!("{}: {}", t.name, t.describe()))
        .collect();
    places.sort();
    places
}

/// True when a kit saved naming `saved` names other places than `targets` (a target was
/// added, removed or moved since): it must be saved again. `None`: saved before the places
/// were recorded, so nothing to compare.
pub fn places_changed(saved: Option<&[String]>, targets: &[Target]) -> bool {
    saved.is_some_and(|saved| saved != places(targets).as_slice())
}

/// The kit for `keys` and `targets` (never with an S3 secret).
/// `address` is where Backroom answers on this computer (`http://localhost:5123/`): a new
/// computer started the same way answers there too.
pub fn text(
    keys: &Keyring,
    targets: &[Target],
    data_dir: &str,
    address: &str,
    now: DateTime<Utc>,
) -> String {
    let mut p = Page(String::new());
    p.say("BACKROOM EMERGENCY KIT");
    p.say("======================");
    p.say(&format!(
        "Made {} for the data folder {data_dir}.",
        crate::timefmt::local(now)
    ));
    p.say("Keep it safe and private: print it, or save it on a USB stick kept away from");
    p.say("the shop computer. With it anyone can open your off-site copies; without it");
    p.say("nobody can, not even you.");
    p.say("");
    p.say("YOUR SECRET KEY (the line below that starts with AGE-SECRET-KEY-1):");
    for (i, key) in keys.keys().iter().enumerate() {
        if i == 1 {
            p.say("Older keys, for copies made before the key was changed:");
        }
        p.0.push_str(key.identity.to_string().expose_secret());
        p.0.push('\n');
    }
    p.say("");
    p.say("WHERE THE COPIES ARE");
    if targets.is_empty() {
        p.say("  (no target is set up yet)");
    }
    for target in targets {
        p.say(&format!("  {}: {}", target.name, target.describe()));
        if let Location::S3 {
            region, path_style, ..
        } = &target.location
        {
            p.say(&format!(
                "      region {}, {} addressing; the access key and secret are not in this",
                if region.is_empty() { "(none)" } else { region },
                if *path_style {
                    "path-style"
                } else {
                    "virtual-host"
                }
            ));
            p.say("      kit: find them in your storage provider's account.");
        }
    }
    for l in [
        "Each copy is two files: NAME.db.zst.age (the data, compressed and encrypted)",
        "and NAME.json (when it was made, sizes, checksums). The newest has the latest",
        "date and time in its name, e.g. backup_20261201_120000 is 1 December 2026, 12:00.",
        "",
        "TO GET THE DATA BACK WITH BACKROOM (for example on a new computer)",
        "  1. Put the backroom program in a new folder and start it.",
        "  2. On that computer open {address} and choose \"Bring back my data\".",
        "  3. Upload a copy (the .db.zst.age file) with this kit, or connect to the target",
        "     above and pick a copy from its list.",
        "  4. Log in with your usual user name and password.",
        "  Or from the command line, in the program's folder:",
        "     backroom restore --file NAME.db.zst.age --key backroom-emergency-kit.txt",
        "",
        "TO GET THE DATA BACK WITHOUT BACKROOM (the free tools age and zstd)",
        "  1. Make a new folder. Save this kit in it as kit.txt, exactly as it is.",
        "  2. Copy the newest NAME.db.zst.age and its NAME.json from the target there.",
        "  3. Open a terminal in that folder (on Windows: Command Prompt or PowerShell)",
        "     and type these two commands exactly as written, with the copy's name",
        "     instead of NAME:",
        "       age -d -i kit.txt -o NAME.db.zst NAME.db.zst.age",
        "       zstd -d NAME.db.zst -o business_data.db",
        "     (Two separate commands on purpose: joined with | or >, Windows",
        "     PowerShell would damage the data.)",
        "  4. Check the result: this command shows its checksum, a long row of letters",
        "     and digits (type the one for your computer):",
        "       on Windows:  certutil -hashfile business_data.db SHA256",
        "       on Linux:    sha256sum business_data.db",
        "       on a Mac:    shasum -a 256 business_data.db",
        "     It must be the same as the one after \"plain_sha256\" in NAME.json (capital",
        "     or small letters do not matter). If not, the file is damaged: delete",
        "     business_data.db and NAME.db.zst and start again with the copy before.",
        "  5. business_data.db is an ordinary SQLite database: open it with sqlite3 or",
        "     DB Browser for SQLite, or put it next to Backroom and start Backroom.",
    ] {
        p.say(&l.replace("{address}", address));
    }
    p.0
}

/// The address a kit gives when the server's own is not known (the command line): the
/// default port.
pub fn default_address(port: u16) -> String {
    format!("http://localhost:{port}/")
}

/// The one-page printed kit: the same facts as the text, for a page in plain words.
pub struct PrintedKit {
    /// Every key line (`AGE-SECRET-KEY-1…`), the current one first.
    pub keys: Vec<String>,
    /// "usb: folder /media/usb" (never an S3 secret).
    pub places: Vec<String>,
    pub data_dir: String,
    pub made: DateTime<Utc>,
}

impl PrintedKit {
    pub fn new(keys: &Keyring, targets: &[Target], data_dir: &str, now: DateTime<Utc>) -> Self {
        PrintedKit {
            keys: keys
                .keys()
                .iter()
                .map(|k| k.identity.to_string().expose_secret().to_string())
                .collect(),
            places: targets
                .iter()
                .map(|t| format!("{}: {}", t.name, t.describe()))
                .collect(),
            data_dir: data_dir.to_string(),
            made: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_kit_is_an_identity_file_with_words_around_the_keys() {
        let mut keys = Keyring::generate(Utc::now());
        keys.rotate(Utc::now());
        let target = Target {
            name: "b2".into(),
            location: Location::S3 {
                endpoint: "https://s3.example.com".into(),
                region: "eu".into(),
                bucket: "shop".into(),
                prefix: String::new(),
                path_style: true,
                allow_http: false,
            },
            enabled: true,
            keep: Default::default(),
        };
        let folder = Target {
            name: "usb".into(),
            location: Location::Folder {
                path: PathBuf::from("/media/usb"),
            },
            enabled: true,
            keep: Default::default(),
        };
        let kit = text(
            &keys,
            &[target, folder],
            "/srv/shop",
            "http://localhost:5123/",
            Utc::now(),
        );
        assert!(kit.contains("open http://localhost:5123/ and choose"));
        for l in kit.lines() {
            assert!(
                l.starts_with('#') || l.starts_with("AGE-SECRET-KEY-1"),
                "not a comment or a key: {l}"
            );
        }
        assert_eq!(
            kit.matches("AGE-SECRET-KEY-1").count(),
            3,
            "two keys and the heading"
        );
        assert!(kit.contains("bucket shop at https://s3.example.com"));
        assert!(kit.contains("folder /media/usb"));
        assert!(kit.contains("age -d -i kit.txt -o NAME.db.zst NAME.db.zst.age\n"));
        assert!(kit.contains("zstd -d NAME.db.zst -o business_data.db\n"));
        assert!(kit.contains("certutil -hashfile business_data.db SHA256\n"));
        assert!(kit.contains("sha256sum business_data.db\n"));
        // No command line pipes or redirects binary data (PowerShell 5.1 would damage it).
        for l in kit.lines().filter(|l| l.contains("business_data.db")) {
            assert!(!l.contains(" | ") && !l.contains(" > "), "{l}");
        }
        let back = Keyring::from_kit(&kit).unwrap();
        assert_eq!(back.keys().len(), 2);
    }
}
