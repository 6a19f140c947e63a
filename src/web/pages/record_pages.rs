//! The pages that customers and products share: the searchable list at `{ROOT}`, and one
//! form to add and edit, at `{ROOT}/new` → `POST {ROOT}` and `{ROOT}/{id}/edit` →
//! `POST {ROOT}/{id}`, shown again with its errors (400) when a rule refuses the input, and on
//! success a redirect to the record. A page module declares its kind of record by implementing
//! [`RecordPages`].

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

/// A kind of record kept with these pages. A page module implements it on a marker type, with
/// two template structs of its own (askama needs one struct per template file): the list page
/// holds a [`RecordList`], the form page a [`FormView`].
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
    fn list_page(layout: Layout, list: RecordList<Self::Record>) -> Self::ListPage;
    fn form_page(layout: Layout, view: FormView<Self::Form>) -> Self::FormPage;
}

/// What every list page shows besides the layout: one page of a list as found, with the
/// search as typed, whether archived records were asked for (only products can be archived),
/// the links to the pages before and after (for `pager.html`), and who is looking.
pub struct RecordList<T> {
    pub q: String,
    pub archived: bool,
    pub page: Page<T>,
    pub pager: Pager,
    pub user: CurrentUser,
}

/// What every form page shows besides the layout.
pub struct FormView<F> {
    /// Where the form posts.
    pub action: String,
    pub creating: bool,
    pub form: F,
    pub errors: FieldErrors,
}

pub async fn list<R: RecordPages>(
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
    let list = RecordList {
        q,
        archived,
        page,
        pager,
        user,
    };
    let layout = Layout::new(&req, &state, &capitalized(nav::<R>()), nav::<R>()).await;
    render(&R::list_page(layout, list))
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

pub async fn new_form<R: RecordPages>(
    Ctx { req, state, .. }: Ctx,
) -> Result<HttpResponse, AppError> {
    show::<R>(
        &req,
        &state,
        None,
        R::Form::default(),
        FieldErrors::default(),
    )
    .await
}

pub async fn edit_form<R: RecordPages>(
    Ctx { req, state, .. }: Ctx,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let form = run_db(&state, move |c| R::load(c, id)).await?;
    show::<R>(&req, &state, Some(id), form, FieldErrors::default()).await
}

pub async fn create<R: RecordPages>(
    Ctx { req, state, user }: Ctx,
    session: UserSession,
    form: web::Form<R::Form>,
) -> Result<HttpResponse, AppError> {
    save::<R>(&req, &state, &session, &user, None, form.into_inner()).await
}

pub async fn update<R: RecordPages>(
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
