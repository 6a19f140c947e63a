//! Looking inside a backup over JSON: `GET /api/backups/{name}/records/{table}?q=&page=`,
//! `GET /api/backups/{name}/diff/{table}` and `POST /api/backups/{name}/bring-back` with
//! `{"table": "customers", "ids": [..], "stock": "keep" | "adjust"}`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::actions::records::{self, Inside};
use crate::records::{BringBack, StockChoice, Table};
use crate::web::http::paging::ListQuery;
use crate::web::http::{ApiError, AppError, Ctx, blocking};

pub async fn list(
    Ctx { state, user, .. }: Ctx,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (backup, table) = path.into_inner();
    let inside = Inside::parse(backup, &table).map_err(AppError::from)?;
    let (st, admin, q, page_no) = (state.clone(), user.admin()?, query.search(), query.page());
    let l =
        blocking(move || records::list(&st.engine, &st.db, &admin, &inside, &q, page_no)).await?;
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

pub async fn diff(
    Ctx { state, user, .. }: Ctx,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (backup, table) = path.into_inner();
    let inside = Inside::parse(backup, &table).map_err(AppError::from)?;
    let sales = inside.table == Table::Sales;
    let (st, admin) = (state.clone(), user.admin()?);
    let (d, lost) = blocking(move || records::compare(&st.engine, &st.db, &admin, &inside)).await?;
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

pub async fn bring_back(
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
    let (st, boss, backup) = (state.clone(), user.super_admin()?, backup.into_inner());
    let brought =
        blocking(move || records::bring_back(&st.engine, &st.db, &boss, &backup, &ask)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "brought_back": brought })))
}
