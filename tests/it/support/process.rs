//! The real `backroom` binary as a subprocess: one command run to its end, or a server that a
//! test can kill or signal.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The real `backroom` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_backroom"))
}

/// Runs `backroom --data-dir DIR ARGS...` to completion.
pub fn run_cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(binary());
    cmd.arg("--data-dir").arg(dir).args(args);
    run_to_end(cmd, stdin)
}

/// Runs a prepared command to completion with `stdin` as its input (none: an empty one).
pub fn run_to_end(mut cmd: Command, stdin: Option<&str>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

/// What a finished command printed (stdout, then stderr); fails the test, naming the command
/// as `what`, unless it succeeded.
pub fn succeeded(out: &Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed: {text}");
    text
}

/// A server running as a separate process (for kills and signals).
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    /// The threads draining stdout and stderr: they end at end of file, once the process
    /// has exited, so joining them means everything it wrote has been read.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `backroom` on a free port and waits until it prints its address.
    pub fn start(
        exe: &Path,
        dir: Option<&Path>,
        cwd: &Path,
        extra_env: &[(&str, &str)],
    ) -> ServerProcess {
        let mut cmd = Command::new(exe);
        if let Some(dir) = dir {
            cmd.arg("--data-dir").arg(dir);
        }
        cmd.args(["--port", "0"])
            .current_dir(cwd)
            .env_remove("BACKROOM_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        ServerProcess::from_command(cmd)
    }

    /// Starts a prepared command (which must pass `--port 0` and pipe stdout).
    pub fn from_command(mut cmd: Command) -> ServerProcess {
        let mut child = cmd.spawn().unwrap();
        // Drain stderr so the server never blocks on a full pipe; echo it for failing tests
        // and keep it for `errors`.
        let stderr_text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut readers = Vec::new();
        if let Some(stderr) = child.stderr.take() {
            let kept = stderr_text.clone();
            readers.push(std::thread::spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    eprint!("[server] {}", &line[..line.len().min(300)]);
                    kept.lock().unwrap().push_str(&line);
                    line.clear();
                }
            }));
        }
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut port = None;
        let mut seen = String::new();
        for _ in 0..20 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            seen.push_str(&line);
            if let Some(rest) = line.split("http://localhost:").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                port = digits.parse::<u16>().ok();
                break;
            }
        }
        let Some(port) = port else {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "server did not start; stdout: {seen} stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        // Keep draining stdout (kept for `output`) so the child never blocks on a full pipe.
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(seen));
        let collected = stdout.clone();
        readers.push(std::thread::spawn(move || {
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                collected.lock().unwrap().push_str(&line);
                line.clear();
            }
        }));
        ServerProcess {
            child,
            url: format!("http://127.0.0.1:{port}"),
            stdout,
            stderr: stderr_text,
            readers,
        }
    }

    /// What the server wrote to its console log so far.
    pub fn errors(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// What the server printed on start (waits for the end of its welcome).
    pub fn output(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.stdout.lock().unwrap().clone();
            if text.contains("Press Ctrl-C") || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    #[cfg(unix)]
    #[allow(unsafe_code)]
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    /// Waits for the process to exit on its own, and for its last words to be read (a test
    /// that looks at `errors` right after the exit once missed them).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                while !self.readers.iter().all(|r| r.is_finished()) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `backroom ARGS` in `dir`, which must succeed; its output (stdout, then stderr).
pub fn cli_ok(dir: &Path, args: &[&str]) -> String {
    succeeded(&run_cli(dir, args, None), &format!("backroom {args:?}"))
}
