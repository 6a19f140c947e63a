//! Shipping: the Linux installer in a throw-away HOME (systemctl replaced by a recording
//! shim), shellcheck on every shell script, and the release archive.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shell_scripts() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "dist") {
                    walk(&path, out);
                }
            } else if name.ends_with(".sh") {
                out.push(path);
            }
        }
    }
    let mut scripts = vec![repo().join(".ci/run")];
    walk(&repo(), &mut scripts);
    scripts
}

#[test]
fn every_shell_script_passes_shellcheck() {
    let scripts = shell_scripts();
    assert!(scripts.len() >= 7, "{scripts:?}");
    let out = Command::new("shellcheck")
        .args(&scripts)
        .output()
        .expect("shellcheck is not installed (apt-get install shellcheck; .ci/run does)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

struct FakeHome {
    home: tempfile::TempDir,
    shim: tempfile::TempDir,
}

impl FakeHome {
    fn new() -> FakeHome {
        let shim = tempfile::tempdir().unwrap();
        let script = shim.path().join("systemctl");
        std::fs::write(&script, "#!/bin/sh\necho \"$@\" >> \"$SYSTEMCTL_LOG\"\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        FakeHome {
            home: tempfile::tempdir().unwrap(),
            shim,
        }
    }

    fn run(&self, script: &str, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.shim.path().display(),
            std::env::var("PATH").unwrap()
        );
        Command::new("bash")
            .arg(repo().join(script))
            .args(args)
            .env("HOME", self.home.path())
            .env("PATH", path)
            .env("SYSTEMCTL_LOG", self.log_path())
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("BACKROOM_DATA_DIR")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    fn log_path(&self) -> PathBuf {
        self.shim.path().join("systemctl.log")
    }

    fn prefix(&self) -> PathBuf {
        self.home.path().join(".local/share/backroom")
    }

    fn unit(&self) -> PathBuf {
        self.home
            .path()
            .join(".config/systemd/user/backroom.service")
    }

    fn launcher(&self) -> PathBuf {
        self.home
            .path()
            .join(".local/share/applications/backroom.desktop")
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn linux_install_runs_upgrades_and_uninstalls_without_losing_data() {
    let fake = FakeHome::new();
    let bin = binary();
    let bin = bin.to_str().unwrap();
    let text = ok(&fake.run("installer/linux/install.sh", &["--binary", bin]));
    assert!(text.contains("http://localhost:5000/"), "{text}");

    let installed = fake.prefix().join("backroom");
    assert!(installed.exists());
    let unit = std::fs::read_to_string(fake.unit()).unwrap();
    assert!(
        unit.contains(&format!("ExecStart={} --port 5000", installed.display())),
        "{unit}"
    );
    assert!(unit.contains("Restart=on-failure"));
    assert!(unit.contains("WantedBy=default.target"));
    let launcher = std::fs::read_to_string(fake.launcher()).unwrap();
    assert!(launcher.contains("Exec=xdg-open http://localhost:5000/"));
    let calls = std::fs::read_to_string(fake.log_path()).unwrap();
    for expected in [
        "--user daemon-reload",
        "--user enable backroom.service",
        "--user restart backroom.service",
    ] {
        assert!(calls.contains(expected), "{calls}");
    }
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok()
    {
        let verify = Command::new("systemd-analyze")
            .args(["verify"])
            .arg(fake.unit())
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stderr)
        );
    } else {
        println!("systemd-analyze is not installed: unit file checked by content only");
    }

    // The installed program runs from its new place and keeps its data there.
    let elsewhere = tempfile::tempdir().unwrap();
    let added = Command::new(&installed)
        .args(["user", "add", "owner", "--role", "super-admin"])
        .current_dir(elsewhere.path())
        .env_remove("BACKROOM_DATA_DIR")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"installed-password\n")?;
            child.wait()
        })
        .unwrap();
    assert!(added.success());
    assert!(fake.prefix().join("business_data.db").exists());
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);

    // Installing again is harmless: the program is replaced, the data is not.
    ok(&fake.run("installer/linux/install.sh", &["--binary", bin]));
    let listed = Command::new(&installed)
        .args(["user", "list"])
        .env_remove("BACKROOM_DATA_DIR")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains("owner"));

    // Uninstall keeps the data.
    let text = ok(&fake.run("installer/linux/uninstall.sh", &[]));
    assert!(text.contains("kept"), "{text}");
    assert!(!installed.exists() && !fake.unit().exists() && !fake.launcher().exists());
    assert!(fake.prefix().join("business_data.db").exists());
    assert!(
        std::fs::read_to_string(fake.log_path())
            .unwrap()
            .contains("--user disable --now backroom.service")
    );
    ok(&fake.run("installer/linux/uninstall.sh", &[]));

    // --purge needs a confirmation; without a terminal that means --yes.
    let refused = fake.run("installer/linux/uninstall.sh", &["--purge"]);
    assert!(!refused.status.success());
    assert!(fake.prefix().join("business_data.db").exists());
    ok(&fake.run("installer/linux/uninstall.sh", &["--purge", "--yes"]));
    assert!(!fake.prefix().exists());
}

#[test]
fn package_builds_an_archive_whose_binary_runs() {
    let bin = binary();
    let out = Command::new("bash")
        .arg(repo().join("installer/package.sh"))
        .args(["--binary", bin.to_str().unwrap()])
        .output()
        .unwrap();
    let text = ok(&out);
    let archive = repo().join(text.lines().next().unwrap().trim());
    assert!(archive.exists(), "{text}");
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("backroom-{}-", backroom::VERSION)) && name.ends_with(".tar.gz"),
        "{name}"
    );
    let sums = std::fs::read_to_string(repo().join("dist/SHA256SUMS")).unwrap();
    assert!(sums.contains(&name));
    let check = Command::new("sha256sum")
        .args(["-c", "--ignore-missing", "SHA256SUMS"])
        .current_dir(repo().join("dist"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let unpacked = tempfile::tempdir().unwrap();
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(untar.success());
    let top = unpacked.path().join(name.trim_end_matches(".tar.gz"));
    for file in [
        "backroom",
        "README.md",
        "LICENSE",
        "QUICKSTART.txt",
        "installer/linux/install.sh",
    ] {
        assert!(top.join(file).exists(), "{file} missing");
    }
    let version = Command::new(top.join("backroom"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).contains(backroom::VERSION));
}
