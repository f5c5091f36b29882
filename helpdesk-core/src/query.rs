//! List queries: filters, ordering and page-number pagination, all pushed down to the store.

use std::str::FromStr;

use serde::Serialize;

use crate::input::FieldErrors;
use crate::{Priority, Role, Status, UserId};

/// Default page size.
pub const PAGE_SIZE_DEFAULT: u32 = 20;
/// Largest page size a client may ask for.
pub const PAGE_SIZE_MAX: u32 = 100;
/// Longest search or filter text, in characters.
pub const SEARCH_MAX: usize = 200;

/// Which page of a list to return (1-based), and how many items per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u32,
    size: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            size: PAGE_SIZE_DEFAULT,
        }
    }
}

impl PageRequest {
    /// A page request; `page` starts at 1 and `size` is 1 to 100.
    ///
    /// ```
    /// # use helpdesk_core::PageRequest;
    /// assert_eq!(PageRequest::new(3, 20).unwrap().offset(), 40);
    /// assert!(PageRequest::new(0, 20).is_err());
    /// assert!(PageRequest::new(1, 101).is_err());
    /// ```
    pub fn new(page: u32, size: u32) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if page == 0 {
            errors.add("page", "must be at least 1");
        }
        if !(1..=PAGE_SIZE_MAX).contains(&size) {
            errors.add(
                "page_size",
                format!("must be between 1 and {PAGE_SIZE_MAX}"),
            );
        }
        if errors.is_empty() {
            Ok(Self { page, size })
        } else {
            Err(errors)
        }
    }

    /// The 1-based page number.
    pub const fn page(&self) -> u32 {
        self.page
    }

    /// Items per page.
    pub const fn size(&self) -> u32 {
        self.size
    }

    /// How many items come before this page.
    pub const fn offset(&self) -> u64 {
        (self.page as u64 - 1) * self.size as u64
    }
}

/// One page of a list and the total number of matching items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items match in all.
    pub count: u64,
    /// The page that was asked for.
    #[serde(skip)]
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// A page without items of a list of `count`: past its end, or of an empty list.
    pub const fn empty(count: u64, request: PageRequest) -> Self {
        Self {
            items: Vec::new(),
            count,
            request,
        }
    }

    /// Whether a page follows this one.
    pub fn has_next(&self) -> bool {
        self.request.offset() + u64::from(self.request.size()) < self.count
    }

    /// Whether a page precedes this one.
    pub fn has_previous(&self) -> bool {
        self.request.page() > 1
    }

    /// Whether the request was past the last page (page 1 of an empty list is not).
    pub fn is_out_of_range(&self) -> bool {
        self.request.page() > 1 && self.items.is_empty()
    }
}

/// Checks a search or filter text: trimmed, at most 200 characters, no control characters.
/// An empty text means "no filter".
pub fn search_text(field: &str, value: &str) -> Result<Option<String>, FieldErrors> {
    let value = value.trim();
    if value.chars().count() > SEARCH_MAX {
        return Err(FieldErrors::single(
            field,
            format!("must be at most {SEARCH_MAX} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldErrors::single(
            field,
            "must not contain control characters",
        ));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// Filter on the assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssigneeFilter {
    /// Unassigned tickets (`assigned_to=none`).
    Nobody,
    /// Tickets assigned to this user.
    User(UserId),
}

impl FromStr for AssigneeFilter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" | "null" => Ok(AssigneeFilter::Nobody),
            // Exactly what the document's pattern admits: 1 to 18 digits (every id fits).
            id if (1..=18).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) => id
                .parse()
                .map(AssigneeFilter::User)
                .map_err(|_| "must be a user id or `none`".to_owned()),
            _ => Err("must be a user id (1 to 18 digits) or `none`".to_owned()),
        }
    }
}

/// Sort order of ticket lists; ties are broken by id in the same direction (priorities first by
/// creation time, then by id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TicketOrdering {
    /// `created_at`
    CreatedAt,
    /// `-created_at` (the default: newest first)
    #[default]
    CreatedAtDesc,
    /// `updated_at`
    UpdatedAt,
    /// `-updated_at`
    UpdatedAtDesc,
    /// `priority` (low first)
    Priority,
    /// `-priority` (high first)
    PriorityDesc,
    /// `due_at` (soonest first; tickets without a due time last)
    DueAt,
    /// `-due_at`
    DueAtDesc,
}

impl TicketOrdering {
    /// Every ordering.
    pub const ALL: [TicketOrdering; 8] = [
        Self::CreatedAt,
        Self::CreatedAtDesc,
        Self::UpdatedAt,
        Self::UpdatedAtDesc,
        Self::Priority,
        Self::PriorityDesc,
        Self::DueAt,
        Self::DueAtDesc,
    ];

    /// The query-string spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::CreatedAtDesc => "-created_at",
            Self::UpdatedAt => "updated_at",
            Self::UpdatedAtDesc => "-updated_at",
            Self::Priority => "priority",
            Self::PriorityDesc => "-priority",
            Self::DueAt => "due_at",
            Self::DueAtDesc => "-due_at",
        }
    }

    /// Whether the order is descending.
    pub const fn is_descending(self) -> bool {
        matches!(
            self,
            Self::CreatedAtDesc | Self::UpdatedAtDesc | Self::PriorityDesc | Self::DueAtDesc
        )
    }
}

impl FromStr for TicketOrdering {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|o| o.as_str()).collect();
                format!("must be one of: {}", names.join(", "))
            })
    }
}

/// Filters of a ticket list; the caller's [`TicketScope`](crate::TicketScope) is added by the
/// façade, never by the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketQuery {
    /// Matches anywhere in title or description, case-insensitive.
    pub search: Option<String>,
    /// Matches anywhere in the title, case-insensitive.
    pub title: Option<String>,
    /// Exact status.
    pub status: Option<Status>,
    /// Exact priority.
    pub priority: Option<Priority>,
    /// Assignee, or unassigned.
    pub assigned_to: Option<AssigneeFilter>,
    /// Creator.
    pub created_by: Option<UserId>,
    /// Whether a service-level target is breached ([`Sla::is_breached`](crate::Sla::is_breached)).
    pub breached: Option<bool>,
    /// Sort order.
    pub ordering: TicketOrdering,
}

/// Filters of a user list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Matches anywhere in `name_email`, case-insensitive.
    pub search: Option<String>,
    /// Exact role.
    pub role: Option<Role>,
}
