//! Remembered text matches: the ids of the tickets that a search matched, kept in memory so
//! that asking again reads only what changed.
//!
//! The count is what an admin's search costs: `?search=printer` among 100,000 tickets has
//! 12,500 matches, and the trigram index takes about 5 ms to find them, on every request,
//! before the page can look tickets up among them. Where the dialect lists matches by id
//! ([`Dialect::push_text_matches`]) the store remembers them instead, with the largest ticket
//! id and the database's text edit number (`ticket_text_edits`) it saw:
//!
//! - a new ticket gets an id above every committed one, so asking again reads only the
//!   matches above the largest id seen, by id range in the index (and nothing when no ticket
//!   was added);
//! - changing a ticket's text or deleting a ticket changes the edit number, and the store
//!   reads every match again.
//!
//! Both are read in the statement that reads the new matches, so what the store holds is the
//! matches as of that statement, whatever other instance or process wrote the database.
//!
//! The page then comes from a stretch of the ordering's index long enough to hold it at the
//! matches' density, each ticket looked up among the ids in memory, and the page's tickets
//! read by id. Where no stretch of at most [`STRETCH_MAX`] tickets holds it (a deep page,
//! matches crowded in one part of the ordering), the matches are few enough to read in order
//! (one in 20 tickets or fewer), or the list falls back to the statement that asks the index
//! itself.
//!
//! A search within a user's or an agent's tickets reads the same remembered matches and, in
//! the same statement, the ids of the scope's tickets (from its indexes, both sides of an
//! agent's): the count is how many of those match, and the page is read by id among them.
//!
//! What is held is bounded: at most [`ENTRIES`] searches and [`IDS`] ids in all (2 MiB), the
//! least recently used going first; a search matching more than [`IDS`] is not remembered.

use std::sync::{Arc, Mutex, PoisonError};

use helpdesk_core::store::StoreResult;
use helpdesk_core::{Page, PageRequest, Ticket, TicketQuery, TicketScope};
use sqlx::{
    ColumnIndex, Database, Encode, Executor, IntoArguments, QueryBuilder, Type, query_scalar,
};

use crate::error::store_error as db;
use crate::filters::{TicketText, order_by, push_scope_select, sole_text, sort_keys};
use crate::rows::{TicketRow, convert, from_json, ticket_columns};
use crate::{Dialect, SqlStore, Value, sql};

/// How many searches are remembered at most.
pub(crate) const ENTRIES: usize = 64;

/// How many ids are remembered at most, over all searches.
pub(crate) const IDS: usize = 1 << 18;

/// The longest stretch of an ordering walked for a page (reading 4,096 ids from an index
/// costs about 0.3 ms on SQLite).
pub(crate) const STRETCH_MAX: u64 = 4_096;

/// The matches of one search as of one statement.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    /// `ticket_text_edits.n` then.
    edits: i64,
    /// The largest ticket id then.
    upto: i64,
    /// The ids of the matching tickets, ascending.
    ids: Arc<[i64]>,
}

/// The matches of one search as [`SqlStore::current`] read them, with what the same
/// statement read besides.
struct Current {
    /// The matching ids, ascending.
    ids: Arc<[i64]>,
    /// The largest ticket id.
    upto: i64,
    /// How long a stretch of the ordering was asked for, and the stretch read (ids as JSON).
    asked: u64,
    walked: Option<String>,
    /// The ids of the scope's tickets (JSON), for a scope other than all.
    in_scope: Option<String>,
}

#[derive(Debug)]
struct Entry {
    field: TicketText,
    text: String,
    known: Known,
    used: u64,
}

/// The remembered matches of a store (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Matches {
    entries: Mutex<Vec<Entry>>,
}

impl Matches {
    fn get(&self, field: TicketText, text: &str) -> Option<Known> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let tick = entries.iter().map(|e| e.used).max().unwrap_or(0) + 1;
        let entry = entries
            .iter_mut()
            .find(|e| e.field == field && e.text == text)?;
        entry.used = tick;
        Some(entry.known.clone())
    }

    fn put(&self, field: TicketText, text: &str, known: Known) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|e| !(e.field == field && e.text == text) && e.known.edits == known.edits);
        if known.ids.len() > IDS {
            return;
        }
        let tick = entries.iter().map(|e| e.used).max().unwrap_or(0) + 1;
        let mut held: usize = entries.iter().map(|e| e.known.ids.len()).sum();
        while !entries.is_empty() && (entries.len() >= ENTRIES || held + known.ids.len() > IDS) {
            let oldest = (0..entries.len())
                .min_by_key(|&k| entries[k].used)
                .unwrap_or_default();
            held -= entries.swap_remove(oldest).known.ids.len();
        }
        entries.push(Entry {
            field,
            text: text.to_owned(),
            known,
            used: tick,
        });
    }
}

/// How long a stretch of the ordering holds `want` of `n` matches among about `tickets`
/// tickets spread evenly, with room for unevenness; `None` beyond [`STRETCH_MAX`].
fn stretch(want: u64, n: usize, tickets: i64) -> Option<u64> {
    let (n, tickets) = (n as u128, u128::try_from(tickets).unwrap_or_default());
    if n == 0 {
        return Some(0);
    }
    let expected = u128::from(want) * tickets / n;
    let length = u64::try_from(expected * 3 / 2 + 64).unwrap_or(u64::MAX);
    (length <= STRETCH_MAX).then_some(length)
}

/// The ids of the page among a stretch of the ordering `asked` long, if it holds the page:
/// enough matches, or the whole ordering (the stretch came back shorter than asked).
fn page_in(stretch: &[i64], asked: u64, matches: &[i64], page: PageRequest) -> Option<Vec<i64>> {
    let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let want = offset.saturating_add(page.size() as usize);
    let found: Vec<i64> = stretch
        .iter()
        .copied()
        .filter(|id| matches.binary_search(id).is_ok())
        .take(want)
        .collect();
    let whole = (stretch.len() as u64) < asked;
    (found.len() == want || whole).then(|| found.into_iter().skip(offset).collect())
}

/// Ids from a JSON array of one-element arrays (`[[3],[5]]`, [`Dialect::rows_as_json`]).
fn ids_from_json(json: &str) -> StoreResult<Vec<i64>> {
    let rows: Vec<(i64,)> = from_json(json)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    String: Value<D::Db>,
    Option<String>: Value<D::Db>,
    D::Ids: Value<D::Db>,
{
    /// A page of the tickets in `scope` filtered by one text alone, from the remembered
    /// matches; `None` where this does not apply or no stretch of the ordering holds the page
    /// and the matches are many (see the module docs): the caller asks the index then.
    pub(crate) async fn list_matching(
        &self,
        scope: TicketScope,
        q: &TicketQuery,
        page: PageRequest,
    ) -> StoreResult<Option<Page<Ticket>>> {
        let Some((field, text)) = sole_text(q) else {
            return Ok(None);
        };
        if scope != TicketScope::All {
            return self.list_matching_in(scope, field, text, q, page).await;
        }
        let want = page.offset().saturating_add(u64::from(page.size()));
        let Some(Current {
            ids,
            upto: tickets,
            mut asked,
            walked,
            ..
        }) = self.current(field, text, q, Some(want), scope).await?
        else {
            return Ok(None);
        };
        if ids.is_empty() {
            return Ok(Some(Page {
                items: Vec::new(),
                count: 0,
                request: page,
            }));
        }
        let mut found = match walked {
            Some(walked) => page_in(&ids_from_json(&walked)?, asked, &ids, page),
            None => None,
        };
        if found.is_none()
            && let Some(longer) = stretch(want, ids.len(), tickets).filter(|&l| l > asked)
        {
            asked = longer;
            let mut qb = QueryBuilder::new("SELECT ");
            push_stretch::<D>(&mut qb, q, asked);
            let walked: Option<String> = qb
                .build_query_scalar()
                .fetch_one(&self.reader)
                .await
                .map_err(db::<D>)?;
            found = page_in(
                &ids_from_json(walked.as_deref().unwrap_or("[]"))?,
                asked,
                &ids,
                page,
            );
        }
        // The page among the stretch, else among all matches in order when they are few.
        let (among, offset) = match found {
            Some(found) => (found, 0),
            None if (ids.len() as u128) * 20 < u128::try_from(tickets).unwrap_or_default() => {
                (ids.to_vec(), page.offset())
            }
            None => return Ok(None),
        };
        Ok(Some(Page {
            items: self.tickets_by_id(among, q, page.size(), offset).await?,
            count: ids.len() as u64,
            request: page,
        }))
    }

    /// A page of the tickets in `scope` (a user's or an agent's) filtered by one text alone:
    /// the remembered matches among the scope's ids, both as of one statement, then the
    /// page's tickets by id. `None` where the dialect cannot list matches by id.
    async fn list_matching_in(
        &self,
        scope: TicketScope,
        field: TicketText,
        text: &str,
        q: &TicketQuery,
        page: PageRequest,
    ) -> StoreResult<Option<Page<Ticket>>> {
        let Some(Current { ids, in_scope, .. }) = self.current(field, text, q, None, scope).await?
        else {
            return Ok(None);
        };
        let in_scope: Vec<i64> = from_json(in_scope.as_deref().unwrap_or("[]"))?;
        let matching: Vec<i64> = in_scope
            .into_iter()
            .filter(|id| ids.binary_search(id).is_ok())
            .collect();
        let count = matching.len() as u64;
        Ok(Some(Page {
            items: self
                .tickets_by_id(matching, q, page.size(), page.offset())
                .await?,
            count,
            request: page,
        }))
    }

    /// The matches of `text` now, remembered again if they changed, in one statement: whether
    /// tickets were edited or deleted since the remembered ones (then every match is read
    /// again), the largest ticket id, and the matches above the largest id seen before; with,
    /// from the same snapshot, a stretch of the ordering long enough for `want` tickets at the
    /// matches' density as remembered ([`push_stretch`]; none for `None`) and, for a scope
    /// other than all, the ids of its tickets. `None` where the dialect cannot list matches
    /// by id.
    async fn current(
        &self,
        field: TicketText,
        text: &str,
        q: &TicketQuery,
        want: Option<u64>,
        scope: TicketScope,
    ) -> StoreResult<Option<Current>> {
        let known = self.matches.get(field, text);
        let asked = known
            .as_ref()
            .zip(want)
            .and_then(|(k, want)| stretch(want, k.ids.len(), k.upto))
            .unwrap_or(0);
        let mut qb = QueryBuilder::new("WITH matching (id) AS (");
        let Some(ids_json) = D::ids_as_json("id") else {
            return Ok(None);
        };
        if !D::push_text_matches(&mut qb, field, text) {
            return Ok(None);
        }
        let (edits, upto) = known.as_ref().map_or((-1, 0), |k| (k.edits, k.upto));
        qb.push(
            "), seen (edits, upto) AS (SELECT (SELECT n FROM ticket_text_edits), \
             (SELECT coalesce(max(id), 0) FROM tickets)), \
             since (id) AS (SELECT CASE WHEN edits = ",
        )
        .push_bind(edits)
        .push(" THEN ")
        .push_bind(upto)
        .push(format_args!(
            " ELSE 0 END FROM seen) SELECT edits, upto, \
             CASE WHEN upto > (SELECT id FROM since) THEN (SELECT {ids_json} FROM matching AS t \
             WHERE id > (SELECT id FROM since)) ELSE '[]' END, "
        ));
        push_stretch::<D>(&mut qb, q, asked);
        if scope == TicketScope::All {
            qb.push(", NULL");
        } else {
            qb.push(format_args!(", (SELECT {ids_json} FROM ("));
            push_scope_select(&mut qb, scope);
            qb.push(") AS t)");
        }
        qb.push(" FROM seen");
        let row: (i64, i64, String, Option<String>, Option<String>) = qb
            .build_query_as()
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        let (edits_now, upto_now, added, walked, in_scope) = row;
        let mut added: Vec<i64> = from_json(&added)?;
        // The index gives them in order, which this checks in one pass; all are above the
        // ids known, if any are.
        added.sort_unstable();
        let seen = known.as_ref().map(|k| (k.edits, k.upto));
        let ids: Arc<[i64]> = match known {
            Some(known) if known.edits == edits_now && added.is_empty() => known.ids,
            Some(known) if known.edits == edits_now => [&known.ids[..], &added].concat().into(),
            _ => added.into(),
        };
        // Remembered again only when something changed (`get` marked it as used).
        if seen != Some((edits_now, upto_now)) {
            let now = Known {
                edits: edits_now,
                upto: upto_now,
                ids: ids.clone(),
            };
            self.matches.put(field, text, now);
        }
        Ok(Some(Current {
            ids,
            upto: upto_now,
            asked,
            walked,
            in_scope,
        }))
    }

    /// The tickets of `ids` in the query's order, `size` of them after `offset`.
    async fn tickets_by_id(
        &self,
        ids: Vec<i64>,
        q: &TicketQuery,
        size: u32,
        offset: u64,
    ) -> StoreResult<Vec<Ticket>> {
        let order = order_by(q.ordering);
        let Some(page_json) = D::rows_as_json(ticket_columns!(), order).filter(|_| !ids.is_empty())
        else {
            return Ok(Vec::new());
        };
        let select = format!(
            "SELECT {page_json} FROM (SELECT {} FROM tickets t WHERE {}{order} \
             LIMIT $1 OFFSET $3) AS t",
            ticket_columns!(),
            D::IN_IDS_2
        );
        let json: String = query_scalar(sql(select))
            .bind(i64::from(size))
            .bind(D::encode_ids(&ids))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        let rows: Vec<TicketRow<D::Time>> = from_json(&json)?;
        convert(rows, TicketRow::into_ticket::<D>)
    }
}

/// `(SELECT <the ids of the first `length` tickets in the query's order, as one JSON value>)`,
/// or `NULL` for none.
fn push_stretch<D: Dialect>(qb: &mut QueryBuilder<D::Db>, q: &TicketQuery, length: u64)
where
    i64: Encode<'static, D::Db> + Type<D::Db>,
{
    let order = order_by(q.ordering);
    match D::rows_as_json("t.id", order).filter(|_| length > 0) {
        Some(json) => {
            qb.push(format_args!("(SELECT {json} FROM ("))
                .push(sort_keys(q.ordering))
                .push(order)
                .push(" LIMIT ")
                .push_bind(i64::try_from(length).unwrap_or(i64::MAX))
                .push(") AS t)");
        }
        None => {
            qb.push("NULL");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(edits: i64, ids: Vec<i64>) -> Known {
        Known {
            edits,
            upto: 100,
            ids: ids.into(),
        }
    }

    #[test]
    fn a_stretch_holds_the_page_at_the_matches_density_with_room() {
        // 20 of 12,500 matches among 100,000: 160 expected, 304 asked.
        assert_eq!(stretch(20, 12_500, 100_000), Some(304));
        assert_eq!(stretch(20, 0, 100_000), Some(0));
        // Few matches or deep pages: no stretch is short enough.
        assert_eq!(stretch(20, 100, 100_000), None);
        assert_eq!(stretch(10_000, 12_500, 100_000), None);
    }

    #[test]
    fn a_page_is_in_a_stretch_with_enough_matches_or_at_the_end_of_the_ordering() {
        let matches = [2, 4, 6, 8];
        let page = |n, size| PageRequest::new(n, size).unwrap();
        let stretch = [9, 8, 7, 6, 5, 4];
        assert_eq!(page_in(&stretch, 6, &matches, page(1, 2)), Some(vec![8, 6]));
        assert_eq!(page_in(&stretch, 6, &matches, page(2, 2)), None);
        // Shorter than asked: the ordering ended, and the page is what there is.
        assert_eq!(page_in(&stretch, 10, &matches, page(2, 2)), Some(vec![4]));
        assert_eq!(page_in(&stretch, 10, &matches, page(3, 2)), Some(vec![]));
    }

    #[test]
    fn the_least_recently_used_search_goes_first_and_an_edit_forgets_them_all() {
        let matches = Matches::default();
        for k in 0..ENTRIES {
            matches.put(TicketText::Anywhere, &k.to_string(), known(1, vec![1]));
        }
        assert!(matches.get(TicketText::Anywhere, "0").is_some());
        matches.put(TicketText::Title, "0", known(1, vec![1]));
        assert!(matches.get(TicketText::Anywhere, "0").is_some());
        assert!(matches.get(TicketText::Anywhere, "1").is_none());
        assert!(matches.get(TicketText::Title, "0").is_some());

        matches.put(TicketText::Title, "new", known(2, vec![1]));
        assert!(matches.get(TicketText::Anywhere, "0").is_none());
        assert!(matches.get(TicketText::Title, "new").is_some());
    }

    #[test]
    fn what_is_held_stays_within_the_id_budget() {
        let matches = Matches::default();
        matches.put(TicketText::Anywhere, "a", known(1, vec![0; IDS / 2]));
        matches.put(TicketText::Anywhere, "b", known(1, vec![0; IDS / 2]));
        matches.put(TicketText::Anywhere, "c", known(1, vec![0; 10]));
        assert!(matches.get(TicketText::Anywhere, "a").is_none());
        assert!(matches.get(TicketText::Anywhere, "b").is_some());
        matches.put(TicketText::Anywhere, "huge", known(1, vec![0; IDS + 1]));
        assert!(matches.get(TicketText::Anywhere, "huge").is_none());
        assert!(matches.get(TicketText::Anywhere, "b").is_some());
    }
}
