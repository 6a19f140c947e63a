//! Looking inside a backup over JSON: `GET /api/backups/{name}/records/{table}?q=&page=`,
//! `GET /api/backups/{name}/diff/{table}` and `POST /api/backups/{name}/bring-back` with
//! `{"table": "customers", "ids": [..], "stock": "keep" | "adjust"}`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::ctx::Ctx;
use super::error::{ApiError, AppError};
use super::records::{self, Inside};
use crate::records::{BringBack, StockChoice, Table};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/backups/{name}/records/{table}", web::get().to(list))
        .route("/api/backups/{name}/diff/{table}", web::get().to(diff))
        .route("/api/backups/{name}/bring-back", web::post().to(bring_back));
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

async fn list(
    Ctx { state, user, .. }: Ctx,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (backup, table) = path.into_inner();
    let inside = Inside::parse(backup, &table)?;
    let q: String = query.q.chars().take(100).collect();
    let l = records::list(
        &state,
        &user.admin()?,
        inside,
        q,
        query.page.unwrap_or(1).max(1),
    )
    .await?;
    let items: Vec<serde_json::Value> = l
        .page
        .items
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(mark) = l.marks.get(&r.id) {
                v["compared_with_now"] = (*mark).into();
            }
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backup": l.backup,
        "made": l.made,
        "table": table,
        "page": l.page.page,
        "pages": l.page.pages(),
        "total": l.page.total,
        "records": items,
    })))
}

async fn diff(
    Ctx { state, user, .. }: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (backup, table) = path.into_inner();
    let inside = Inside::parse(backup, &table)?;
    let sales = inside.table == Table::Sales;
    let (d, lost) = records::compare(&state, &user.admin()?, inside).await?;
    if sales {
        return Ok(HttpResponse::Ok().json(serde_json::json!({ "no_longer_live": lost })));
    }
    let seen = d.seen();
    let mut answer = serde_json::to_value(&d).map_err(AppError::internal)?;
    answer["seen"] = serde_json::to_value(seen).map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BringBackBody {
    table: String,
    ids: Vec<i64>,
    #[serde(default)]
    stock: StockChoice,
    /// What the caller saw of each live record (`seen` in the compare answer), by id.
    #[serde(default)]
    seen: std::collections::BTreeMap<i64, String>,
}

async fn bring_back(
    Ctx { state, user, .. }: Ctx,
    backup: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: BringBackBody = serde_json::from_slice(&body)
        .map_err(|e| AppError::BadRequest(format!("The JSON body is not valid: {e}")))?;
    let table = Table::parse(&body.table)
        .ok_or_else(|| AppError::BadRequest("\"table\" is products or customers.".into()))?;
    let ask = BringBack {
        table,
        ids: body.ids,
        stock: body.stock,
        seen: body.seen,
    };
    let brought =
        records::bring_back(&state, &user.super_admin()?, backup.into_inner(), ask).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "brought_back": brought })))
}
