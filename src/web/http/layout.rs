//! What every page's frame needs: the user, the CSRF token, the health banner, flash
//! messages, version and asset links.

use actix_web::{HttpMessage, HttpRequest, web};

use super::AppState;
use super::assets;
use super::session::{CurrentUser, Flash, UserSession};
use crate::backup::health::{Health, HealthLevel};
use crate::business::Page;

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

/// What a searchable list is asked for: `?q=…&page=N` (and on the products list
/// `&archived=1`, to show archived ones too).
#[derive(serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
    #[serde(default)]
    archived: String,
}

impl ListQuery {
    /// What to search for, cut to a sane length.
    pub fn search(&self) -> String {
        self.q.chars().take(100).collect()
    }

    /// The page asked for, from 1.
    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).max(1)
    }

    pub fn archived(&self) -> bool {
        !self.archived.is_empty()
    }
}

/// Previous/next links for a paged list, keeping the list's filters (`templates/pager.html`).
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    /// Empty when there is no previous/next page.
    pub prev: String,
    pub next: String,
}

impl Pager {
    pub fn new<T>(page: &Page<T>, path: &str, filters: &[(&str, &str)]) -> Pager {
        let link = |number: i64| {
            let mut params: Vec<(&str, String)> = filters
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (*k, (*v).to_string()))
                .collect();
            params.push(("page", number.to_string()));
            format!(
                "{path}?{}",
                serde_urlencoded::to_string(&params).unwrap_or_default()
            )
        };
        Pager {
            page: page.page,
            pages: page.pages(),
            prev: if page.has_prev() {
                link(page.page - 1)
            } else {
                String::new()
            },
            next: if page.has_next() {
                link(page.page + 1)
            } else {
                String::new()
            },
        }
    }
}
