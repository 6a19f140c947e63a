//! CSS, JavaScript and icons, embedded in the binary and served under `/static/`. Pages link
//! them with a content fingerprint (`?v=...`, from the SHA-256 rust-embed computes at build
//! time) so browsers may cache them for a year.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "static/"]
struct StaticFiles;

/// The first 8 bytes of the file's SHA-256, in hex.
pub fn fingerprint(path: &str) -> Option<String> {
    StaticFiles::get(path).map(|file| {
        file.metadata.sha256_hash()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// The address to link an asset with, fingerprinted for cache-busting.
pub fn url(path: &str) -> String {
    match fingerprint(path) {
        Some(fp) => format!("/static/{path}?v={fp}"),
        None => format!("/static/{path}"),
    }
}

pub async fn serve(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    let Some(file) = StaticFiles::get(&path) else {
        return HttpResponse::NotFound().finish();
    };
    let fp = fingerprint(&path).unwrap_or_default();
    let etag = format!("\"{fp}\"");
    let versioned = req
        .query_string()
        .split('&')
        .any(|kv| kv.strip_prefix("v=") == Some(fp.as_str()));
    let cache = if versioned {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    if not_modified {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(file.metadata.mimetype())
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .body(file.data.into_owned())
}
