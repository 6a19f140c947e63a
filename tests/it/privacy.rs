//! Other people on the computer cannot read the shop (issue 23): the data folder, the backups
//! and the copies on a folder target are their owner's only, and what an older version left
//! readable is corrected at start.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use backroom::auth::Role;

use crate::offsite::add_usb_with_a_copy;
use crate::support::*;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// Every folder and file under `dir` (itself included) with its mode.
fn modes(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = vec![(dir.to_path_buf(), mode(dir))];
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(modes(&path));
        } else if path.exists() {
            found.push((path.clone(), mode(&path)));
        }
    }
    found
}

fn assert_private(dir: &Path) {
    for (path, mode) in modes(dir) {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{} is {mode:o}", path.display());
    }
}

#[test]
fn the_data_the_backups_and_folder_copies_are_the_owners_only() {
    let (mut app, boss) = spawn_app().ready_as(Role::SuperAdmin);
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("usb");
    std::fs::create_dir(&target).unwrap();
    add_usb_with_a_copy(&boss, &target);
    assert!(app.data_dir().join("backroom.toml").exists());
    assert!(app.backups_dir().join("backup.log").exists());
    assert_private(app.data_dir());
    for (path, mode) in modes(&target).into_iter().skip(1) {
        assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
    }

    // Files an older version left readable to all are corrected at the next start.
    drop(boss);
    for (path, _) in modes(app.data_dir()) {
        let loose = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
    }
    assert_eq!(mode(&app.db_path()), 0o644);
    app.restart();
    assert_private(app.data_dir());
}
