//! Lists with search and pages: what a list is asked for (`?q=…&page=N`) and the
//! previous/next links that keep its filters.

use crate::business::Page;

/// What a searchable list is asked for: `?q=…&page=N` (and on the products list
/// `&archived=1`, to show archived ones too). Pages, the API and the lists inside a backup
/// all read it.
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
