//! `/backup/status` with its two forms: make a backup now, and the backup settings.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::actions::backups;
use crate::backup::health::LiveCheck;
use crate::backup::log::{Level, LogLine};
use crate::fields::FieldErrors;
use crate::offsite::settings::TargetForm;
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::session::{CurrentUser, UserSession};
use crate::web::http::state::AppState;
use crate::web::http::{AppError, blocking, see_other};
use crate::web::views::backups::{StatusView, load_status};
use crate::web::views::offsite::TargetCard;
use crate::{fsutil, timefmt};

#[derive(Template)]
#[template(path = "backup/status.html")]
struct StatusPage {
    layout: Layout,
    s: StatusView,
    log: Vec<LogLine>,
    user: CurrentUser,
    now: chrono::DateTime<chrono::Utc>,
    targets: Vec<TargetCard>,
    /// The off-site setup form as typed, with its messages (after a refused setup).
    setup: TargetForm,
    setup_errors: FieldErrors,
}

impl StatusPage {
    /// The backup the next new one pushes out under the cap ("Next to go").
    fn next_to_go(&self, name: &str) -> bool {
        self.s.retention.next_automatic_pushes_out.as_deref() == Some(name)
    }

    /// The health message's first sentence and the rest (smaller on a phone).
    fn health_parts(&self) -> (&str, &str) {
        crate::web::http::layout::health_parts(
            self.s.health.message_for(self.user.is_super_admin()),
        )
    }

    /// The last check of the live database in words: "No damage found (5 minutes ago)".
    fn check_text(&self, check: &Option<LiveCheck>) -> String {
        match check {
            Some(c) if c.ok => {
                format!("No damage found ({})", timefmt::ago(c.checked_at, self.now))
            }
            Some(c) => format!(
                "Damage found ({}): {}",
                timefmt::ago(c.checked_at, self.now),
                c.message
            ),
            None => "Not checked yet".into(),
        }
    }

    /// A log line's level as a word ("Done", not `INFO`).
    fn level_word(&self, level: &Level) -> &'static str {
        match level {
            Level::Info => "Done",
            Level::Warning => "Warning",
            Level::Error => "Problem",
        }
    }

    fn interval_text(&self) -> String {
        if self.s.schedule.active {
            format!(
                "every {}",
                timefmt::span(i64::try_from(self.s.schedule.interval_secs).unwrap_or(0))
            )
        } else {
            "off".into()
        }
    }
}

pub async fn status(Ctx { req, state, user }: Ctx) -> Result<HttpResponse, AppError> {
    status_page(
        &req,
        &state,
        user,
        TargetForm::default(),
        FieldErrors::default(),
    )
    .await
}

/// The status page; with `setup_errors`, shown again with the off-site setup form as typed.
pub async fn status_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    user: CurrentUser,
    mut setup: TargetForm,
    setup_errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let s = load_status(state).await?;
    let engine = state.engine.clone();
    let log = blocking(move || Ok::<_, AppError>(engine.log().tail(50))).await?;
    // A secret is never shown back, not even to the person who typed it.
    setup.secret_access_key.clear();
    setup.kit.clear();
    let now = state.clock.now();
    let invalid = !setup_errors.is_empty();
    crate::web::http::render_form(
        &StatusPage {
            // The page shows the health message itself: once, not in a banner too.
            layout: Layout::new(req, state, "Database Backup", "backup")
                .await
                .without_banner(),
            targets: crate::web::views::offsite::cards(&s.offsite, now),
            s,
            log,
            user,
            now,
            setup,
            setup_errors,
        },
        invalid,
    )
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    description: String,
}

pub async fn create(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, AppError> {
    let (st, actor, description) = (state.clone(), user.actor(), form.into_inner().description);
    let made = blocking(move || {
        backups::create_manual(&st.engine, &st.manual_backups, &actor, &description)
    })
    .await;
    match made {
        Ok(entry) => {
            let message = format!(
                "Backup “{}” made and verified ({}; file {}).",
                entry.label(),
                fsutil::human_size(entry.size),
                entry.file_name
            );
            if user.is_super_admin() {
                let keep = format!("/backup/{}/keep", entry.file_name);
                session.flash_ok_with_post(message, keep, "Keep this backup", ("keep", "1"));
            } else {
                session.flash_ok(message);
            }
        }
        Err(e @ (AppError::BadRequest(_) | AppError::TooManyRequests(_))) => {
            session.flash_error(e.to_string())
        }
        Err(e) => session.flash_error(format!("The backup was not made: {}", e.public_message())),
    }
    Ok(see_other("/backup/status"))
}

#[derive(Deserialize)]
pub struct SettingsForm {
    interval_hours: String,
    max_backups: String,
}

pub async fn save_settings(
    Ctx { state, user, .. }: Ctx,
    session: UserSession,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let boss = user.super_admin()?;
    let st = state.clone();
    let saved = blocking(move || {
        backups::apply_settings(
            &st.engine,
            &st.scheduler,
            &boss,
            &form.interval_hours,
            &form.max_backups,
        )
    })
    .await?;
    match saved {
        Ok(s) if s.interval_hours == 0 => session.flash_ok(format!(
            "Settings saved: automatic backups are off; keeping {} backups.",
            s.max_backups
        )),
        Ok(s) => session.flash_ok(format!(
            "Settings saved: a backup every {} hour(s), keeping {} backups.",
            s.interval_hours, s.max_backups
        )),
        Err(errors) => session.flash_error(format!("Settings not saved: {}", errors.joined())),
    }
    Ok(see_other("/backup/status"))
}
