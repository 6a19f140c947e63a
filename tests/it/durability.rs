//! "Saved" means on disk: the real server runs under Debian's `strace`, and for each sale
//! (and a logout) the trace must show the thread that wrote the `-wal` flushing it before the
//! response leaves. strace shows what reaches the disk; a PRAGMA only shows a setting.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use backroom::auth::Role;

use crate::support::*;

/// strace, or why it cannot be used here (not installed, or ptrace not allowed).
fn usable_strace() -> Result<PathBuf, String> {
    let strace = PathBuf::from("/usr/bin/strace");
    if !strace.exists() {
        return Err("/usr/bin/strace is not installed (apt-get install strace)".into());
    }
    let out = Command::new(&strace)
        .args(["-f", "-o", "/dev/null", "true"])
        .output()
        .map_err(|e| format!("cannot run strace: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "strace cannot trace here (ptrace not allowed?): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(strace)
}

/// The traced server; stops the server itself (not only strace, whose death would leave
/// the server running untraced).
struct Traced {
    server: ServerProcess,
    trace: PathBuf,
}

impl Traced {
    fn start(strace: &Path, data: &Path, trace: PathBuf) -> Traced {
        let mut cmd = Command::new(strace);
        cmd.args(["-f", "-qq", "-y", "-s", "48", "-e"])
            .arg("trace=read,recvfrom,recvmsg,write,writev,pwrite64,pwritev,sendto,sendmsg,fsync,fdatasync")
            .arg("-o")
            .arg(&trace)
            .arg(binary())
            .arg("--data-dir")
            .arg(data)
            .args(["--port", "0"])
            .env_remove("BACKROOM_DATA_DIR")
            .env("BACKROOM_OFFSITE_POLL_MS", "60000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Traced {
            server: ServerProcess::from_command(cmd),
            trace,
        }
    }

    /// The server's pid: strace's only child.
    fn server_pid(&self) -> Option<i32> {
        let pid = self.server.child.id();
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// Stops the server with SIGTERM and returns the whole trace once strace has written it.
    fn stop(&mut self) -> String {
        if let Some(pid) = self.server_pid() {
            signal(pid, libc::SIGTERM);
        }
        assert!(
            self.server.wait_exit(Duration::from_secs(30)).is_some(),
            "the traced server did not stop"
        );
        std::fs::read_to_string(&self.trace).unwrap()
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        if let Some(pid) = self.server_pid() {
            signal(pid, libc::SIGKILL);
        }
    }
}

#[allow(unsafe_code)]
fn signal(pid: i32, signal: i32) {
    // SAFETY: a signal to the server process this test started.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// One strace line: thread, syscall, whether it is the start, the end or both.
struct Call<'a> {
    tid: &'a str,
    name: &'a str,
    text: &'a str,
    starts: bool,
    ends: bool,
}

fn parse(line: &str) -> Option<Call<'_>> {
    let (tid, rest) = line.split_once(' ')?;
    let rest = rest.trim_start();
    if let Some(resumed) = rest.strip_prefix("<... ") {
        let name = resumed.split_whitespace().next()?;
        return Some(Call {
            tid,
            name,
            text: line,
            starts: false,
            ends: true,
        });
    }
    let name = rest.split('(').next()?;
    Some(Call {
        tid,
        name,
        text: line,
        starts: true,
        ends: !rest.ends_with("<unfinished ...>"),
    })
}

const WRITES: &[&str] = &["write", "writev", "pwrite64", "pwritev"];
const SENDS: &[&str] = &["write", "writev", "sendto", "sendmsg"];
const SYNCS: &[&str] = &["fsync", "fdatasync"];

/// For every request whose first line starts `request`, the thread that last wrote `wal`
/// before the response went out also flushed `wal` after that write and before the
/// response. Returns how many requests were checked; panics with the window otherwise.
fn each_flushed_before_response(trace: &str, request: &str, wal: &str) -> usize {
    let calls: Vec<Call> = trace.lines().filter_map(parse).collect();
    let on_wal = |c: &Call| c.text.contains(&format!("{wal}>"));
    let mut checked = 0;
    let mut i = 0;
    while let Some(start) = (i..calls.len()).find(|&k| calls[k].text.contains(request)) {
        let response = (start + 1..calls.len())
            .find(|&k| {
                calls[k].starts
                    && SENDS.contains(&calls[k].name)
                    && calls[k].text.contains("socket:[")
                    && calls[k].text.contains("\"HTTP/1.1 ")
            })
            .unwrap_or_else(|| panic!("no response after line {start} ({request})"));
        let window = &calls[start..response];
        let Some(last_write) = window
            .iter()
            .rposition(|c| c.starts && WRITES.contains(&c.name) && on_wal(c))
        else {
            panic!("{request}: nothing was written to {wal} before the response");
        };
        let writer = window[last_write].tid;
        // The flush by the writing thread, started after its last write and ended before
        // the response (its end may be a "resumed" line).
        let flushed = window[last_write + 1..].iter().enumerate().any(|(k, c)| {
            c.tid == writer
                && c.starts
                && SYNCS.contains(&c.name)
                && on_wal(c)
                && (c.ends
                    || window[last_write + 1 + k + 1..]
                        .iter()
                        .any(|e| e.tid == writer && !e.starts && e.name == c.name))
        });
        assert!(
            flushed,
            "{request}: the response went out before {wal} was flushed by thread {writer}:\n{}",
            window
                .iter()
                .filter(|c| c.text.contains(".db") || c.text.contains("HTTP"))
                .map(|c| c.text)
                .collect::<Vec<_>>()
                .join("\n")
        );
        checked += 1;
        i = response + 1;
    }
    checked
}

#[test]
fn each_saved_sale_and_a_logout_are_flushed_to_disk_before_the_response() {
    let strace = match usable_strace() {
        Ok(s) => s,
        Err(why) => {
            println!("SKIPPED: strace shows what reaches the disk, but {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut traced = Traced::start(&strace, &data, dir.path().join("trace.txt"));
    let record = data.join("database_backups/startup_backup.db.json");
    wait_until("the startup backup", Duration::from_secs(60), || {
        record.exists()
    });
    add_user_to(&data.join("business_data.db"), "clerk", Role::Staff);
    let clerk = Client::new(&traced.server.url);
    assert_eq!(clerk.login("clerk", PASSWORD).status, 303);
    let product = clerk.add_product("TEA-1", "Green tea", "3.50", "100");
    let product = product.to_string();
    for _ in 0..3 {
        let res = clerk.post_form(
            "/sales",
            &[
                ("customer_id", ""),
                ("product_id", &product),
                ("quantity", "1"),
                ("unit_price", ""),
            ],
        );
        assert_eq!(res.status, 303, "{}", res.body);
    }
    assert_eq!(clerk.post_form("/logout", &[]).status, 303);
    let trace = traced.stop();
    assert_eq!(
        each_flushed_before_response(&trace, "\"POST /sales ", "/business_data.db-wal"),
        3,
        "three sales checked"
    );
    assert_eq!(
        each_flushed_before_response(&trace, "\"POST /logout ", "/sessions.db-wal"),
        1,
        "the logout checked"
    );
}
