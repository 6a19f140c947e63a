//! Stamps the git commit into the binary (`--version`, page footers). Asset fingerprints come
//! from rust-embed's own SHA-256 (see `src/web/assets.rs`).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    watch_git_head();
    let commit = Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=BACKROOM_GIT_COMMIT={commit}");
}

fn watch_git_head() {
    let head = Path::new(".git/HEAD");
    if !head.exists() {
        return;
    }
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Ok(text) = std::fs::read_to_string(head)
        && let Some(reference) = text.strip_prefix("ref: ")
    {
        let path = Path::new(".git").join(reference.trim());
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
