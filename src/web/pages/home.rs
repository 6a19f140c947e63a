//! `/`: the dashboard, or the first-run page while nobody has an account (public: it decides
//! itself what an anonymous visitor sees).

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth::users;
use crate::business::dashboard::{self, Dashboard};
use crate::business::money::format_cents;
use crate::web::http::layout::Layout;
use crate::web::http::middleware::SessionEnded;
use crate::web::http::session::CurrentUser;
use crate::web::http::state::AppState;
use crate::web::http::{AppError, is_loopback, render, run_db, see_other};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    d: Dashboard,
    health_level: &'static str,
    health_message: String,
}

impl HomePage {
    fn health_parts(&self) -> (&str, &str) {
        crate::web::http::layout::health_parts(&self.health_message)
    }

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
        if req.extensions().get::<SessionEnded>().is_some() {
            return Ok(see_other("/login?ended=1"));
        }
        let count = run_db(&state, |c| users::count(c)).await?;
        if count > 0 {
            return Ok(see_other("/login"));
        }
        if !is_loopback(&req) {
            return Err(AppError::Forbidden(
                "Backroom is not set up yet. Open it on the computer it runs on to create the first account.".into(),
            ));
        }
        return super::first_run::first_run_page(&req, &state).await;
    }
    let d = run_db(&state, |c| dashboard::load(c)).await?;
    let st = state.clone();
    let health = crate::web::http::blocking(move || Ok::<_, AppError>(st.health())).await?;
    let page = HomePage {
        layout: Layout::new(&req, &state, "Dashboard", "home")
            .await
            .without_banner(),
        d,
        health_level: health.level.as_str(),
        health_message: health
            .message_for(user.as_ref().is_some_and(CurrentUser::is_super_admin))
            .to_string(),
    };
    render(&page)
}
