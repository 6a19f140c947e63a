//! CSS, JavaScript and icons, embedded in the binary and served under `/static/`. Pages link
//! them with a content fingerprint (`?v=...`) so browsers may cache them for a year.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "static/"]
struct StaticFiles;

include!(concat!(env!("OUT_DIR"), "/asset_fingerprints.rs"));

pub fn fingerprint(path: &str) -> Option<&'static str> {
    ASSET_FINGERPRINTS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, f)| *f)
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
    let fp = fingerprint(&path).unwrap_or("0");
    let etag = format!("\"{fp}\"");
    let versioned = req
        .query_string()
        .split('&')
        .any(|kv| kv.strip_prefix("v=") == Some(fp));
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
