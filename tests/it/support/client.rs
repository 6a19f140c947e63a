//! A browser-like HTTP client for the app under test: cookies, the CSRF token read from a page,
//! forms, JSON and file uploads, and responses read completely.

use std::time::Duration;

use reqwest::blocking::{Client as Http, Response};
use reqwest::redirect::Policy;

/// A response read completely.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    fn from(res: Response) -> Resp {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    pub fn location(&self) -> String {
        self.header("location")
    }

    /// The id at the end of a 303's `Location` (`/products/12` → 12).
    pub fn created_id(&self) -> i64 {
        assert_eq!(self.status, 303, "{}", self.body);
        self.location().rsplit('/').next().unwrap().parse().unwrap()
    }

    /// Asserts the status (showing the page when it is another) and hands the response on.
    pub fn expect_status(self, status: u16) -> Resp {
        assert_eq!(self.status, status, "{}", self.body);
        self
    }

    /// Asserts the page shows `text`, showing the page when it does not.
    pub fn assert_shows(&self, text: &str) {
        assert!(self.body.contains(text), "{text:?} not in: {}", self.body);
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A reqwest client builder. The app's HTTPS stack (for S3 targets) is rustls with ring and
/// no default provider, so test clients name it too.
pub fn http_builder() -> reqwest::blocking::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
}

/// A browser-like client: keeps cookies, does not follow redirects (tests check them).
pub struct Client {
    pub http: Http,
    pub base: String,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Client {
            http: http_builder()
                .cookie_provider(jar.clone())
                .redirect(Policy::none())
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            base: base.to_string(),
            jar,
        }
    }

    pub fn jar(&self) -> &std::sync::Arc<reqwest::cookie::Jar> {
        &self.jar
    }

    /// Sends a request exactly as written (no URL normalisation, so `..` and `%2e` reach the
    /// server), with this client's cookies and CSRF token; returns the status code.
    pub fn raw(&self, method: &str, path: &str) -> u16 {
        use reqwest::cookie::CookieStore;
        use std::io::{Read, Write};
        let url: reqwest::Url = self.base.parse().unwrap();
        let cookies = self
            .jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let token = self.csrf();
        let host = url.host_str().unwrap();
        let port = url.port().unwrap();
        let body = format!("csrf_token={token}");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookies}\r\nX-CSRF-Token: {token}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = std::net::TcpStream::connect((host, port)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {response:?}"))
    }

    /// `GET /backup/{name}/download`, which must answer 200; the response is left unread (the
    /// file is binary, and tests look at its headers too).
    pub fn download(&self, name: &str) -> Response {
        let res = self
            .http
            .get(format!("{}/backup/{name}/download", self.base))
            .send()
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "download of {name}");
        res
    }

    pub fn get(&self, path: &str) -> Resp {
        Resp::from(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .unwrap(),
        )
    }

    /// The session's CSRF token, read from a page like a browser would.
    pub fn csrf(&self) -> String {
        let page = self.get("/login");
        let page = if page.body.contains("csrf-token") {
            page
        } else {
            self.get("/account")
        };
        extract_csrf(&page.body).unwrap_or_default()
    }

    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let token = self.csrf();
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_form_raw(path, &all)
    }

    pub fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        Resp::from(
            self.http
                .post(format!("{}{path}", self.base))
                .form(fields)
                .send()
                .unwrap(),
        )
    }

    pub fn api_post(&self, path: &str, body: serde_json::Value) -> Resp {
        let token = self.csrf();
        Resp::from(
            self.http
                .post(format!("{}{path}", self.base))
                .header("X-CSRF-Token", token)
                .json(&body)
                .send()
                .unwrap(),
        )
    }

    /// Like `api_post`, for requests that the test may cut off by killing the server.
    pub fn try_api_post(&self, path: &str, body: serde_json::Value) -> Option<u16> {
        let page = self
            .http
            .get(format!("{}/account", self.base))
            .send()
            .ok()?
            .text()
            .ok()?;
        let token = extract_csrf(&page)?;
        self.http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", token)
            .json(&body)
            .send()
            .ok()
            .map(|r| r.status().as_u16())
    }

    pub fn api_delete(&self, path: &str) -> Resp {
        let token = self.csrf();
        Resp::from(
            self.http
                .delete(format!("{}{path}", self.base))
                .header("X-CSRF-Token", token)
                .send()
                .unwrap(),
        )
    }

    pub fn login(&self, user: &str, password: &str) -> Resp {
        self.post_form(
            "/login",
            &[("username", user), ("password", password), ("next", "/")],
        )
    }
}

pub fn extract_csrf(body: &str) -> Option<String> {
    let marker = "name=\"csrf-token\" content=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

impl Client {
    /// Makes a product through the form (reorder level 1); returns its id.
    pub fn add_product(&self, sku: &str, name: &str, price: &str, stock: &str) -> i64 {
        let fields = [
            ("sku", sku),
            ("name", name),
            ("price", price),
            ("stock", stock),
            ("reorder_level", "1"),
        ];
        self.post_form("/products", &fields).created_id()
    }

    /// Makes a customer through the form; returns their id.
    pub fn add_customer(&self, name: &str, phone: &str, email: &str) -> i64 {
        let fields = [("name", name), ("phone", phone), ("email", email)];
        self.post_form("/customers", &fields).created_id()
    }

    /// `POST` of a file as the raw body (the API's upload), with the CSRF header.
    pub fn upload_raw(&self, path: &str, bytes: Vec<u8>, key: Option<&str>) -> Resp {
        let token = self.csrf();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", token)
            .header("Content-Type", "application/octet-stream")
            .body(bytes);
        if let Some(key) = key {
            req = req.header("X-Backroom-Key", key);
        }
        Resp::from(req.send().unwrap())
    }

    /// A multipart form post like a browser's file upload: the CSRF token in the address (as
    /// the page's form has it), `file` and then the text fields.
    pub fn upload_form(
        &self,
        path: &str,
        file_name: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> Resp {
        let token = self.csrf();
        let mut form = reqwest::blocking::multipart::Form::new().part(
            "file",
            reqwest::blocking::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        Resp::from(
            self.http
                .post(format!("{}{path}{sep}csrf_token={token}", self.base))
                .multipart(form)
                .send()
                .unwrap(),
        )
    }
}
