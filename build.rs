//! Stamps the version and git commit into the binary and fingerprints `static/` so pages can
//! link assets with a cache-busting tag.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=static");
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

    let mut files = Vec::new();
    collect(Path::new("static"), &mut files);
    files.sort();
    let mut table = String::from(
        "/// (path under static/, content fingerprint)\npub static ASSET_FINGERPRINTS: &[(&str, &str)] = &[\n",
    );
    for file in files {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let rel = file
            .strip_prefix("static")
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let _ = writeln!(table, "    ({rel:?}, \"{:016x}\"),", fnv1a(&bytes));
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = std::fs::write(out.join("asset_fingerprints.rs"), table) {
        println!("cargo:warning=cannot write asset fingerprints: {e}");
    }
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

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// FNV-1a: stable across Rust versions, plenty for cache-busting.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
