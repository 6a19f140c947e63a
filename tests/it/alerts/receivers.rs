//! The real receivers the alerts tests talk to on loopback: Debian's `aiosmtpd` as a mail
//! server (started as a subprocess, checking a password when asked to, saving each message as
//! a file) and an HTTP receiver for webhooks and heartbeats. Each is stopped when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::wait_until;

/// The password the mail server asks for.
pub const SMTP_PASSWORD: &str = "smtp-pass-S3CRET-1";

/// The python with Debian's aiosmtpd (`/usr/bin/python3` first: another python on PATH does
/// not see Debian's packages). Missing, the test fails and says what to install.
pub fn python_with_aiosmtpd() -> PathBuf {
    for candidate in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(candidate)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return PathBuf::from(candidate);
        }
    }
    panic!(
        "the alerts tests need a real SMTP server: install Debian's python3-aiosmtpd (apt-get install python3-aiosmtpd; .ci/run does)"
    );
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

const SMTP_SCRIPT: &str = r#"
import logging, os, signal, sys, uuid, warnings
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# AUTH without TLS is what this loopback test wants: no warnings about it.
warnings.simplefilter("ignore")
logging.getLogger("mail.log").setLevel(logging.ERROR)
port, folder = int(sys.argv[1]), sys.argv[2]
user = os.environ.get("SMTP_USER", "").encode()
password = os.environ.get("SMTP_PASSWORD", "").encode()

class Save:
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(folder, uuid.uuid4().hex)
        with open(name + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(name + ".tmp", name + ".eml")
        return "250 OK"

def check(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == user and data.password == password
    return AuthResult(success=ok)

extra = dict(authenticator=check, auth_require_tls=False, auth_required=True) if user else {}
controller = Controller(Save(), hostname="127.0.0.1", port=port, **extra)
controller.start()
signal.sigwait([signal.SIGTERM, signal.SIGINT])
controller.stop()
"#;

/// aiosmtpd on loopback, saving each message as a file; stopped when dropped.
pub struct Smtp {
    child: Child,
    pub port: u16,
    inbox: tempfile::TempDir,
}

impl Smtp {
    /// Starts on `port`; with `user`, it asks for that user and [`SMTP_PASSWORD`].
    pub fn start(port: u16, user: Option<&str>) -> Smtp {
        let python = python_with_aiosmtpd();
        let inbox = tempfile::tempdir().unwrap();
        let script = inbox.path().join("smtp.py");
        std::fs::write(&script, SMTP_SCRIPT).unwrap();
        let mail = inbox.path().join("mail");
        std::fs::create_dir(&mail).unwrap();
        let child = Command::new(python)
            .arg(&script)
            .arg(port.to_string())
            .arg(&mail)
            .env("SMTP_USER", user.unwrap_or(""))
            .env("SMTP_PASSWORD", SMTP_PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let smtp = Smtp { child, port, inbox };
        wait_until("the SMTP server", Duration::from_secs(30), || {
            TcpStream::connect(("127.0.0.1", smtp.port)).is_ok()
        });
        smtp
    }

    pub fn messages(&self) -> Vec<String> {
        std::fs::read_dir(self.inbox.path().join("mail"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: String,
}

/// An HTTP receiver for webhooks and heartbeats; stopped when dropped.
pub struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                if let Some(request) = read_request(&mut stream) {
                    g.lock().unwrap().push(request);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    );
                }
            }
        });
        Receiver {
            port,
            got,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.got.lock().unwrap().clone()
    }

    /// The webhook messages received, as JSON.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST")
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .collect()
    }

    pub fn count(&self, event: &str) -> usize {
        self.events().iter().filter(|e| e["event"] == event).count()
    }

    /// Waits (up to `limit`) until `event` has been received exactly once, and returns it.
    pub fn told_once(&self, event: &str, limit: Duration) -> serde_json::Value {
        wait_until(&format!("{event} told"), limit, || self.count(event) == 1);
        self.events()
            .into_iter()
            .find(|e| e["event"] == event)
            .unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
