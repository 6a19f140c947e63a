//! Against DNS rebinding and cross-site forms: a request must name this server in its `Host`
//! header (421 otherwise), and a state-changing request that a browser marks as coming from
//! another site is refused (403). Both answers come before any handler or session runs.

use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

/// The names this server answers to.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    bind: Option<IpAddr>,
    /// Bound to the network: the machine's name and any address literal are accepted too.
    network: bool,
    names: Vec<String>,
}

impl Default for AllowedHosts {
    /// On this computer only (127.0.0.1).
    fn default() -> AllowedHosts {
        AllowedHosts::new(IpAddr::from([127, 0, 0, 1]), &[])
    }
}

impl AllowedHosts {
    /// For a server bound to `bind`, also known as `configured` names.
    pub fn new(bind: IpAddr, configured: &[String]) -> AllowedHosts {
        let network = !bind.is_loopback();
        let mut names = vec!["localhost".to_string()];
        names.extend(configured.iter().map(|n| normal(n)));
        if network && let Some(name) = machine_name() {
            names.push(format!("{name}.local"));
            names.push(name);
        }
        AllowedHosts {
            bind: (!bind.is_unspecified()).then_some(bind),
            network,
            names,
        }
    }

    /// True when a `Host` value (name or address, with or without a port) names this server.
    pub fn allows(&self, host: &str) -> bool {
        let name = normal(strip_port(host));
        let literal = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(&name);
        if let Ok(ip) = literal.parse::<IpAddr>() {
            // A rebinding attack needs a DNS name: an address typed in the browser cannot be
            // pointed elsewhere, so on the network any address of this machine is accepted.
            return ip.to_canonical().is_loopback() || Some(ip) == self.bind || self.network;
        }
        self.names.contains(&name)
    }
}

fn normal(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `host:port` → `host`; `[::1]:5000` → `[::1]`.
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if port.chars().all(|c| c.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    }
}

/// The computer's own name, for a server reachable from the network.
fn machine_name() -> Option<String> {
    let name = std::env::var("COMPUTERNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())?;
    let name = normal(&name);
    (!name.is_empty()).then_some(name)
}

fn header_text(req: &ServiceRequest, name: header::HeaderName) -> Option<&str> {
    req.headers()
        .get(name)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
}

/// True when a browser says this state-changing request came from another site: an
/// `Origin` that is not this `Host`, or a `Sec-Fetch-Site` other than same-origin/none.
/// Clients that send neither (scripts, the command line) are not browsers on a web page.
fn cross_site(req: &ServiceRequest, host: Option<&str>) -> bool {
    if let Some(origin) = header_text(req, header::ORIGIN) {
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        let same = matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h));
        if !same {
            return true;
        }
    }
    match header_text(req, header::HeaderName::from_static("sec-fetch-site")) {
        Some(site) => !matches!(site, "same-origin" | "none"),
        None => false,
    }
}

fn refuse<B>(
    req: ServiceRequest,
    status: StatusCode,
    text: &str,
) -> ServiceResponse<EitherBody<B>> {
    let mut response = HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text.to_string());
    super::error::mark_rendered(&mut response);
    req.into_response(response).map_into_right_body()
}

/// The gate: a wrong `Host` gets 421, a cross-site POST/PUT/PATCH/DELETE 403.
pub async fn host_guard<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let allowed = req
        .app_data::<web::Data<AllowedHosts>>()
        .map_or_else(AllowedHosts::default, |a| a.get_ref().clone());
    let host = header_text(&req, header::HOST).map(str::to_string);
    // No Host header at all is no browser (browsers always send one), so nothing to rebind.
    if host.as_deref().is_some_and(|h| !allowed.allows(h)) {
        return Ok(refuse(
            req,
            StatusCode::MISDIRECTED_REQUEST,
            "This request named an address that is not this Backroom server, so it was refused. \
             Open Backroom at http://localhost (with its port) or the address it printed at start.",
        ));
    }
    let unsafe_method = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if unsafe_method && cross_site(&req, host.as_deref()) {
        return Ok(refuse(
            req,
            StatusCode::FORBIDDEN,
            "This form was sent from another web site, so it was refused. Open Backroom itself and try again.",
        ));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_this_server_only() {
        let local = AllowedHosts::default();
        for ok in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "[::1]:5000",
            "LOCALHOST.",
        ] {
            assert!(local.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:5000",
            "localhost.evil.example",
            "192.168.1.9",
            "",
        ] {
            assert!(!local.allows(bad), "{bad}");
        }
        let lan = AllowedHosts::new(IpAddr::from([0, 0, 0, 0]), &["shop.lan".into()]);
        assert!(lan.allows("192.168.1.9:5000"));
        assert!(lan.allows("shop.lan:5000"));
        assert!(!lan.allows("evil.example"));
    }
}
