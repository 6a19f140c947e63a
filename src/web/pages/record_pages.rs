//! The pages that customers and products share: the searchable list at `{ROOT}`, and one
//! form to add and edit, at `{ROOT}/new` → `POST {ROOT}` and `{ROOT}/{id}/edit` →
//! `POST {ROOT}/{id}`, shown again with its errors (400) when a rule refuses the input, and on
//! success a redirect to the record. A page module declares its kind of record with
//! [`record_pages!`].

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use rusqlite::Connection;
use serde::de::DeserializeOwned;

use crate::business::{BusinessError, FieldErrors, Page, split_invalid};
use crate::web::http::ctx::Ctx;
use crate::web::http::layout::Layout;
use crate::web::http::paging::{ListQuery, Pager};
use crate::web::http::session::{CurrentUser, UserSession};
use crate::web::http::state::AppState;
use crate::web::http::{AppError, render, render_form, run_db, see_other};

/// A kind of record kept with these pages.
pub trait RecordPages: 'static {
    /// Where the list lives, e.g. `/customers`; a record's page is `{ROOT}/{id}`, and the
    /// sidebar entry and the list's title are the same word.
    const ROOT: &'static str;
    /// One record, lower case, for the titles ("New customer") and the saved note.
    const NOUN: &'static str;
    /// What the list shows.
    type Record: Send + 'static;
    /// What the form sends, kept as typed so that errors can show it again.
    type Form: DeserializeOwned + Default + Clone + Send + 'static;
    type ListPage: Template;
    type FormPage: Template;

    /// Page `page` of the records matching `search` (archived ones too when asked).
    fn find(
        conn: &mut Connection,
        search: &str,
        archived: bool,
        page: i64,
    ) -> Result<Page<Self::Record>, BusinessError>;
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
    fn list_page(layout: Layout, found: Found<Self::Record>, user: CurrentUser) -> Self::ListPage;
    fn form_page(layout: Layout, view: FormView<Self::Form>) -> Self::FormPage;
}

/// Declares a page module's kind of record: the marker type, the template structs (askama
/// needs one struct per template file) and its [`RecordPages`] impl.
///
/// - The list template reads `q`, `archived`, `page` and `pager` (for `pager.html`); `find`
///   is called as `find(conn, search, archived, page)`.
/// - The form template reads `view.form`, `view.errors`, `view.action` and `view.creating`;
///   `load(conn, id)` reads a stored record as a form, `save(conn, id, form, user_id)` checks
///   and stores one.
macro_rules! record_pages {
    (
        $kind:ident at $root:tt, one $noun:tt;
        list $list_template:tt of $record:ty, found by $find:expr;
        form $form_template:tt of $form:ty, loaded by $load:expr, saved by $save:expr;
    ) => {
        /// The list and the add and edit pages
        /// ([`record_pages`](crate::web::pages::record_pages)).
        pub struct $kind;

        #[derive(askama::Template)]
        #[template(path = $list_template)]
        pub struct ListPage {
            layout: $crate::web::http::layout::Layout,
            q: String,
            // Only lists of records that can be archived (products) show it.
            #[allow(dead_code)]
            archived: bool,
            page: $crate::business::Page<$record>,
            pager: $crate::web::http::paging::Pager,
            user: $crate::web::http::session::CurrentUser,
        }

        #[derive(askama::Template)]
        #[template(path = $form_template)]
        pub struct FormPage {
            layout: $crate::web::http::layout::Layout,
            view: $crate::web::pages::record_pages::FormView<$form>,
        }

        impl $crate::web::pages::record_pages::RecordPages for $kind {
            const ROOT: &'static str = $root;
            const NOUN: &'static str = $noun;
            type Record = $record;
            type Form = $form;
            type ListPage = ListPage;
            type FormPage = FormPage;

            fn find(
                conn: &mut rusqlite::Connection,
                search: &str,
                archived: bool,
                page: i64,
            ) -> Result<$crate::business::Page<$record>, $crate::business::BusinessError> {
                $find(conn, search, archived, page)
            }

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

            fn list_page(
                layout: $crate::web::http::layout::Layout,
                found: $crate::web::pages::record_pages::Found<$record>,
                user: $crate::web::http::session::CurrentUser,
            ) -> ListPage {
                let $crate::web::pages::record_pages::Found {
                    q,
                    archived,
                    page,
                    pager,
                } = found;
                ListPage {
                    layout,
                    q,
                    archived,
                    page,
                    pager,
                    user,
                }
            }

            fn form_page(
                layout: $crate::web::http::layout::Layout,
                view: $crate::web::pages::record_pages::FormView<$form>,
            ) -> FormPage {
                FormPage { layout, view }
            }
        }
    };
}
pub(crate) use record_pages;

/// One page of a list as found: the search as typed, whether archived records were asked
/// for, the matches, and the links to the pages before and after.
pub struct Found<T> {
    pub q: String,
    pub archived: bool,
    pub page: Page<T>,
    pub pager: Pager,
}

/// What every such form page shows besides the layout.
pub struct FormView<F> {
    /// Where the form posts.
    pub action: String,
    pub creating: bool,
    pub form: F,
    pub errors: FieldErrors,
}

/// Registers the list and the form's four routes. Call it before the caller's
/// `GET {ROOT}/{id}`, so that `{ROOT}/new` is not read as a record id.
pub fn routes<R: RecordPages>(cfg: &mut web::ServiceConfig) {
    cfg.route(R::ROOT, web::get().to(list::<R>))
        .route(R::ROOT, web::post().to(create::<R>))
        .route(&format!("{}/new", R::ROOT), web::get().to(new_form::<R>))
        .route(&format!("{}/{{id}}", R::ROOT), web::post().to(update::<R>))
        .route(
            &format!("{}/{{id}}/edit", R::ROOT),
            web::get().to(edit_form::<R>),
        );
}

async fn list<R: RecordPages>(
    Ctx { req, state, user }: Ctx,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (q, page_no, archived) = (query.search(), query.page(), query.archived());
    let search = q.clone();
    let page = run_db(&state, move |c| R::find(c, &search, archived, page_no)).await?;
    let filters = [
        ("q", q.as_str()),
        ("archived", if archived { "1" } else { "" }),
    ];
    let pager = Pager::new(&page, R::ROOT, &filters);
    let found = Found {
        q,
        archived,
        page,
        pager,
    };
    let layout = Layout::new(&req, &state, &capitalized(nav::<R>()), nav::<R>()).await;
    render(&R::list_page(layout, found, user))
}

async fn show<R: RecordPages>(
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
    render_form(&R::form_page(layout, view), failed)
}

async fn new_form<R: RecordPages>(Ctx { req, state, .. }: Ctx) -> Result<HttpResponse, AppError> {
    show::<R>(
        &req,
        &state,
        None,
        R::Form::default(),
        FieldErrors::default(),
    )
    .await
}

async fn edit_form<R: RecordPages>(
    Ctx { req, state, .. }: Ctx,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let form = run_db(&state, move |c| R::load(c, id)).await?;
    show::<R>(&req, &state, Some(id), form, FieldErrors::default()).await
}

async fn create<R: RecordPages>(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    form: web::Form<R::Form>,
) -> Result<HttpResponse, AppError> {
    save::<R>(&req, &state, &session, &user, None, form.into_inner()).await
}

async fn update<R: RecordPages>(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    id: web::Path<i64>,
    form: web::Form<R::Form>,
) -> Result<HttpResponse, AppError> {
    let id = Some(id.into_inner());
    save::<R>(&req, &state, &session, &user, id, form.into_inner()).await
}

async fn save<R: RecordPages>(
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
fn nav<R: RecordPages>() -> &'static str {
    R::ROOT.trim_start_matches('/')
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
