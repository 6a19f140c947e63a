//! `/`: the dashboard, or the first-run page while nobody has an account.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth::users;
use crate::business::dashboard::{self, Dashboard};
use crate::business::money::format_cents;
use crate::web::layout::Layout;
use crate::web::session::CurrentUser;
use crate::web::{AppError, AppState, is_loopback, render, run_db, see_other};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    d: Dashboard,
    health_level: &'static str,
    health_message: String,
}

impl HomePage {
    fn money(&self, cents: &i64) -> String {
        format_cents(*cents)
    }
}

pub async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Option<CurrentUser>,
) -> Result<HttpResponse, AppError> {
    if user.is_none() {
        let count = run_db(&state, |c| users::count(c)).await?;
        if count > 0 {
            return Ok(see_other("/login"));
        }
        if !is_loopback(&req) {
            return Err(AppError::Forbidden(
                "Backroom is not set up yet. Open it on the computer it runs on to create the first account.".into(),
            ));
        }
        return super::auth::first_run_page(&req, &state).await;
    }
    let d = run_db(&state, |c| dashboard::load(c)).await?;
    let st = state.clone();
    let health = crate::web::blocking(move || Ok::<_, AppError>(st.health())).await?;
    let page = HomePage {
        layout: Layout::new(&req, &state, "Dashboard", "home").await,
        d,
        health_level: health.level.as_str(),
        health_message: health.message,
    };
    render(&page)
}
