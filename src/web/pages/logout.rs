//! `/logout`: ends the session (signed in, even before a new password is chosen).

use actix_web::HttpResponse;

use crate::web::http::see_other;
use crate::web::http::session::UserSession;

/// Ends the session on the server: a copy of the cookie no longer works.
pub async fn logout(session: UserSession) -> HttpResponse {
    session.end();
    see_other("/login?logged_out=1")
}
