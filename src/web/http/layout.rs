//! What every page's frame needs: the user, the CSRF token, the health banner, flash
//! messages, version and asset links.

use actix_web::{HttpMessage, HttpRequest, web};

use super::assets;
use super::session::{CurrentUser, Flash, UserSession};
use crate::backup::health::{Health, HealthLevel};
use crate::web::http::state::AppState;

pub struct Layout {
    pub title: String,
    /// Which sidebar entry is active.
    pub nav: &'static str,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    /// Shown on every page when backups are not green.
    pub banner: Option<Health>,
    pub flashes: Vec<Flash>,
    pub version: String,
    pub css_url: String,
    pub js_url: String,
}

impl Layout {
    pub async fn new(
        req: &HttpRequest,
        state: &web::Data<AppState>,
        title: &str,
        nav: &'static str,
    ) -> Layout {
        let session = UserSession::of(req);
        let user = req.extensions().get::<CurrentUser>().cloned();
        let banner = if user.is_some() {
            let st = state.clone();
            super::blocking(move || Ok::<_, super::AppError>(st.health()))
                .await
                .ok()
                .filter(|h| h.level != HealthLevel::Green)
                .map(|mut h| {
                    // A task only the owner can do reads "ask the owner" to everyone else.
                    let super_admin = user.as_ref().is_some_and(CurrentUser::is_super_admin);
                    h.message = h.message_for(super_admin).to_string();
                    h
                })
        } else {
            None
        };
        Layout {
            title: title.to_string(),
            nav,
            user,
            csrf: session.csrf_token(),
            banner,
            flashes: session.take_flashes(),
            version: crate::version_line(),
            css_url: assets::url("app.css"),
            js_url: assets::url("app.js"),
        }
    }

    pub fn is_super_admin(&self) -> bool {
        self.user.as_ref().is_some_and(CurrentUser::is_super_admin)
    }

    pub fn nav_class(&self, entry: &str) -> &'static str {
        if self.nav == entry { "active" } else { "" }
    }
}
