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

    /// For pages that show the health message themselves: it appears once, not twice.
    pub fn without_banner(mut self) -> Layout {
        self.banner = None;
        self
    }

    /// The banner's first sentence (all a phone shows).
    pub fn health_head(&self) -> &str {
        self.banner
            .as_ref()
            .map_or("", |h| health_parts(&h.message).0)
    }

    /// The banner's other sentences (hidden on a phone).
    pub fn health_rest(&self) -> &str {
        self.banner
            .as_ref()
            .map_or("", |h| health_parts(&h.message).1)
    }
}

/// A health message split after its first sentence: the short line and the details, so a
/// phone can show the one and keep the other a tap away. The rest keeps its leading space.
pub fn health_parts(message: &str) -> (&str, &str) {
    match message.find(". ") {
        Some(i) => message.split_at(i + 1),
        None => (message, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::health_parts;

    #[test]
    fn a_health_message_splits_after_its_first_sentence() {
        assert_eq!(
            health_parts("Backups only here — last backup just now. Set up a copy. Soon."),
            (
                "Backups only here — last backup just now.",
                " Set up a copy. Soon."
            )
        );
        assert_eq!(health_parts("All good"), ("All good", ""));
    }
}
