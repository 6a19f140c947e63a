//! The add and edit pages that customers and products share: one form for both, at
//! `{ROOT}/new` → `POST {ROOT}` and `{ROOT}/{id}/edit` → `POST {ROOT}/{id}`, shown again with
//! its errors (400) when a rule refuses the input, and on success a redirect to the record.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use rusqlite::Connection;
use serde::de::DeserializeOwned;

use crate::business::{BusinessError, FieldErrors, split_invalid};
use crate::web::ctx::Ctx;
use crate::web::layout::Layout;
use crate::web::session::{CurrentUser, UserSession};
use crate::web::{AppError, AppState, render_form, run_db, see_other};

/// A kind of record kept with such a form.
pub trait RecordForm: 'static {
    /// Where the list lives, e.g. `/customers`; a record's page is `{ROOT}/{id}`, and the
    /// sidebar entry is the same word.
    const ROOT: &'static str;
    /// One record, lower case, for the titles ("New customer") and the saved note.
    const NOUN: &'static str;
    /// What the form sends, kept as typed so that errors can show it again.
    type Form: DeserializeOwned + Default + Clone + Send + 'static;
    type Page: Template;

    /// The stored record as the edit form shows it.
    fn load(conn: &mut Connection, id: i64) -> Result<Self::Form, BusinessError>;
    /// Checks and stores the form (`id` is `None` for a new record) and returns the record's
    /// id; refused input is [`BusinessError::Invalid`].
    fn save(
        conn: &mut Connection,
        id: Option<i64>,
        form: &Self::Form,
        user_id: i64,
    ) -> Result<i64, BusinessError>;
    fn page(layout: Layout, view: FormView<Self::Form>) -> Self::Page;
}

/// Declares a page module's add/edit page: the marker type `$kind`, the template struct
/// `FormPage` (askama needs one struct per template file; the template reads
/// `view.form`, `view.errors`, `view.action`, `view.creating`) and its [`RecordForm`] impl.
/// `$load(conn, id)` reads the stored record as a form; `$save(conn, id, form, user_id)`
/// checks and stores one.
macro_rules! record_form_page {
    ($kind:ident, $template:tt, $root:tt, $noun:tt, $form:ty, $load:expr, $save:expr) => {
        /// The add and edit pages ([`record_form`](crate::web::pages::record_form)).
        pub struct $kind;

        #[derive(askama::Template)]
        #[template(path = $template)]
        pub struct FormPage {
            layout: $crate::web::layout::Layout,
            view: $crate::web::pages::record_form::FormView<$form>,
        }

        impl $crate::web::pages::record_form::RecordForm for $kind {
            const ROOT: &'static str = $root;
            const NOUN: &'static str = $noun;
            type Form = $form;
            type Page = FormPage;

            fn load(
                conn: &mut rusqlite::Connection,
                id: i64,
            ) -> Result<$form, $crate::business::BusinessError> {
                $load(conn, id)
            }

            fn save(
                conn: &mut rusqlite::Connection,
                id: Option<i64>,
                form: &$form,
                user_id: i64,
            ) -> Result<i64, $crate::business::BusinessError> {
                $save(conn, id, form, user_id)
            }

            fn page(
                layout: $crate::web::layout::Layout,
                view: $crate::web::pages::record_form::FormView<$form>,
            ) -> FormPage {
                FormPage { layout, view }
            }
        }
    };
}
pub(crate) use record_form_page;

/// What every such form page shows besides the layout.
pub struct FormView<F> {
    /// Where the form posts.
    pub action: String,
    pub creating: bool,
    pub form: F,
    pub errors: FieldErrors,
}

/// Registers the four routes. Call it before the caller's `GET {ROOT}/{id}`, so that
/// `{ROOT}/new` is not read as a record id.
pub fn routes<R: RecordForm>(cfg: &mut web::ServiceConfig) {
    cfg.route(R::ROOT, web::post().to(create::<R>))
        .route(&format!("{}/new", R::ROOT), web::get().to(new_form::<R>))
        .route(&format!("{}/{{id}}", R::ROOT), web::post().to(update::<R>))
        .route(
            &format!("{}/{{id}}/edit", R::ROOT),
            web::get().to(edit_form::<R>),
        );
}

async fn show<R: RecordForm>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    id: Option<i64>,
    form: R::Form,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let title = format!("{} {}", if id.is_some() { "Edit" } else { "New" }, R::NOUN);
    let failed = !errors.is_empty();
    let view = FormView {
        action: id.map_or_else(|| R::ROOT.to_string(), |id| format!("{}/{id}", R::ROOT)),
        creating: id.is_none(),
        form,
        errors,
    };
    let layout = Layout::new(req, state, &title, nav::<R>()).await;
    render_form(&R::page(layout, view), failed)
}

async fn new_form<R: RecordForm>(Ctx { req, state, .. }: Ctx) -> Result<HttpResponse, AppError> {
    show::<R>(
        &req,
        &state,
        None,
        R::Form::default(),
        FieldErrors::default(),
    )
    .await
}

async fn edit_form<R: RecordForm>(
    Ctx { req, state, .. }: Ctx,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let form = run_db(&state, move |c| R::load(c, id)).await?;
    show::<R>(&req, &state, Some(id), form, FieldErrors::default()).await
}

async fn create<R: RecordForm>(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    form: web::Form<R::Form>,
) -> Result<HttpResponse, AppError> {
    save::<R>(&req, &state, &session, &user, None, form.into_inner()).await
}

async fn update<R: RecordForm>(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    id: web::Path<i64>,
    form: web::Form<R::Form>,
) -> Result<HttpResponse, AppError> {
    let id = Some(id.into_inner());
    save::<R>(&req, &state, &session, &user, id, form.into_inner()).await
}

async fn save<R: RecordForm>(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    session: &UserSession,
    user: &CurrentUser,
    id: Option<i64>,
    form: R::Form,
) -> Result<HttpResponse, AppError> {
    let (typed, user_id) = (form.clone(), user.id);
    let saved = run_db(state, move |c| {
        split_invalid(R::save(c, id, &typed, user_id))
    })
    .await?;
    match saved {
        Ok(saved_id) => {
            session.flash_ok(format!("{} saved.", capitalized(R::NOUN)));
            Ok(see_other(&format!("{}/{saved_id}", R::ROOT)))
        }
        Err(errors) => show::<R>(req, state, id, form, errors).await,
    }
}

/// The sidebar entry: the root without its slash.
fn nav<R: RecordForm>() -> &'static str {
    R::ROOT.trim_start_matches('/')
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
