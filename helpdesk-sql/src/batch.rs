//! Group commit: what concurrent requests write at the same moment is written by one task in
//! one transaction, instead of a transaction each queueing for the writer connection. New
//! tickets, comments and changes of tickets (edits, status changes, assignments) are written
//! this way, a few statements for a whole group: multi-row inserts, and multi-row updates for
//! what comments and changes do to their tickets (a ticket written twice in two, in order, see
//! [`distinct_rounds`]); so are the hits of the rate limits, a statement per key: a new
//! ticket's or comment's hit in its own group, a sign-in's in a group of hits. Every caller is
//! answered only after the commit, so an acknowledged ticket, comment or change is a stored one
//! and a counted hit a stored hit, as before.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use helpdesk_core::store::{
    ClockRestart, CommentDraft, Hits, Quota, StoreError, StoreResult, ThrottleKey, TicketChange,
    TicketDraft,
};
use helpdesk_core::{Comment, Ticket};
use tokio::sync::{mpsc, oneshot};

/// Jobs written in one transaction at most.
pub(crate) const MAX_BATCH: usize = 64;

/// One ticket waiting to be written, the hit it counts against its quota if any, and where
/// its answer goes (`Err`: the hit is past the quota's limit, and the ticket is not written).
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) draft: TicketDraft,
    pub(crate) quota: Option<Quota>,
    pub(crate) reply: oneshot::Sender<StoreResult<Result<Ticket, Hits>>>,
}

/// One comment waiting to be written, what it does to its ticket, the hit it counts against
/// its quota if any, and where its answer goes (`Ok(None)`: there is no such ticket, or not at
/// the version a change expects; `Err`: the hit is past the quota's limit).
#[derive(Debug)]
pub(crate) struct CommentJob {
    pub(crate) draft: CommentDraft,
    pub(crate) effect: Effect,
    pub(crate) quota: Option<Quota>,
    pub(crate) reply: oneshot::Sender<StoreResult<Result<Option<Comment>, Hits>>>,
}

/// One change of a ticket waiting to be written (see `TicketStore::update_ticket`), and where
/// its answer goes (`false`: the ticket is gone, or not at the version the change expects).
#[derive(Debug)]
pub(crate) struct ChangeJob {
    pub(crate) change: TicketChange,
    pub(crate) reply: oneshot::Sender<StoreResult<bool>>,
}

/// An owned [`CommentEffect`](helpdesk_core::store::CommentEffect), to be written later.
#[derive(Debug)]
pub(crate) enum Effect {
    None,
    Restart(ClockRestart),
    Change(Box<TicketChange>),
}

/// One hit of a throttle key waiting to be counted (see `SessionStore::hit`), and where its
/// answer goes.
#[derive(Debug)]
pub(crate) struct Hit {
    pub(crate) key: ThrottleKey,
    pub(crate) at: DateTime<Utc>,
    pub(crate) new_window_ends: DateTime<Utc>,
    pub(crate) reply: oneshot::Sender<StoreResult<Hits>>,
}

/// The queue of a task that writes jobs `J` in groups; the task starts with the first job (on
/// the runtime of its caller) and again if its runtime has gone.
#[derive(Debug)]
pub(crate) struct Queue<J>(Arc<Mutex<Option<mpsc::Sender<J>>>>);

impl<J> Default for Queue<J> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<J> Clone for Queue<J> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<J: Send> Queue<J> {
    /// Queues the job `job` builds around its reply channel for the task that writes this
    /// queue's jobs in groups with `write` (see [`write_groups`]), starting it on `with` if none
    /// is running, and waits for the answer.
    pub(crate) async fn write<C: Clone + Send + Sync + 'static>(
        &self,
        with: &C,
        write: for<'a> fn(&'a C, &'a [&'a J]) -> Written<'a, J::Answer>,
        job: impl FnOnce(oneshot::Sender<StoreResult<J::Answer>>) -> J + Send,
    ) -> StoreResult<J::Answer>
    where
        J: Reply + Sync + 'static,
        J::Answer: Send,
    {
        let start = |jobs| {
            tokio::spawn(write_groups(with.clone(), jobs, write));
        };
        let (reply, answer) = oneshot::channel();
        let queue = self.queue(start);
        queue.send(job(reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// The queue, starting its task with `start` if there is none running.
    fn queue(&self, start: impl FnOnce(mpsc::Receiver<J>)) -> mpsc::Sender<J> {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*slot {
            Some(queue) if !queue.is_closed() => queue.clone(),
            _ => {
                let (queue, jobs) = mpsc::channel(4 * MAX_BATCH);
                start(jobs);
                *slot = Some(queue.clone());
                queue
            }
        }
    }
}

/// The loop of a queue's task: writes the jobs waiting at each moment as one group with
/// [`write_each`], until every sender (every store clone) is gone.
async fn write_groups<C, J: Reply>(
    with: C,
    mut jobs: mpsc::Receiver<J>,
    write: impl for<'a> Fn(&'a C, &'a [&'a J]) -> Written<'a, J::Answer>,
) {
    while let Some(first) = jobs.recv().await {
        let batch = gather(first, &mut jobs);
        write_each(&with, batch, &write).await;
    }
}

/// The jobs waiting now, up to [`MAX_BATCH`], after `first`.
fn gather<J>(first: J, jobs: &mut mpsc::Receiver<J>) -> Vec<J> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// What writing a group of jobs comes to: each job's answer, in their order.
pub(crate) type Written<'a, T> = Pin<Box<dyn Future<Output = StoreResult<Vec<T>>> + Send + 'a>>;

/// A job that can be answered.
pub(crate) trait Reply {
    /// What a job that succeeds is answered with.
    type Answer;

    /// Sends the answer to whoever waits for it, if they still do.
    fn reply(self, answer: StoreResult<Self::Answer>);
}

/// `impl Reply` for jobs that answer through their `reply` channel, each with its answer.
macro_rules! reply_through_channel {
    ($($job:ty => $answer:ty),+ $(,)?) => {$(
        impl Reply for $job {
            type Answer = $answer;

            fn reply(self, answer: StoreResult<$answer>) {
                let _ = self.reply.send(answer);
            }
        }
    )+};
}

reply_through_channel!(
    Job => Result<Ticket, Hits>,
    CommentJob => Result<Option<Comment>, Hits>,
    ChangeJob => bool,
    Hit => Hits,
);

/// Writes `batch` with `write` (given `with`), which answers each job in their order, and
/// replies. If the group fails, nothing of it was written: each job is written again on its
/// own, so that one bad job fails alone (a job alone fails with its own error).
async fn write_each<C, J: Reply>(
    with: &C,
    batch: Vec<J>,
    write: impl for<'a> Fn(&'a C, &'a [&'a J]) -> Written<'a, J::Answer>,
) {
    let all: Vec<&J> = batch.iter().collect();
    match write(with, &all).await {
        Ok(answers) => {
            for (job, answer) in batch.into_iter().zip(answers) {
                job.reply(Ok(answer));
            }
        }
        Err(error) if batch.len() == 1 => {
            if let Some(job) = batch.into_iter().next() {
                job.reply(Err(error));
            }
        }
        Err(_) => {
            for job in batch {
                let answer = write(with, &[&job]).await.and_then(|mut answers| {
                    answers
                        .pop()
                        .ok_or_else(|| StoreError::backend("the write answered nothing"))
                });
                job.reply(answer);
            }
        }
    }
}

/// Checks that the rows a multi-row insert returned, sorted by id, are those of `chunk` in
/// its order (ids are handed out in the order of the rows; the rows may come back in any).
pub(crate) fn same_order<T, U>(
    stored: &[T],
    chunk: &[U],
    same: impl Fn(&T, &U) -> bool,
    what: &str,
) -> StoreResult<()> {
    if stored.len() == chunk.len() && stored.iter().zip(chunk).all(|(s, c)| same(s, c)) {
        Ok(())
    } else {
        Err(StoreError::backend(format!(
            "inserted {what} came back out of order"
        )))
    }
}

/// `items` in chunks whose lengths are powers of two, largest first, so that multi-row
/// statements for any batch come from a handful of shapes the connection keeps prepared
/// (45 = 32 + 8 + 4 + 1).
pub(crate) fn chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let n = items.len();
    let mut rest = items;
    (0..usize::BITS)
        .rev()
        .map(|bit| 1usize << bit)
        .filter(move |size| n & size != 0)
        .map(move |size| {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            chunk
        })
}

/// The positions of `keys` in rounds in which no key appears twice, each round in order, so
/// that a group writing one row twice writes it in two statements, in the order asked:
/// `[a, b, a, c, a]` is `[[0, 1, 3], [2], [4]]`.
pub(crate) fn distinct_rounds<K: Ord + Copy>(keys: &[K]) -> Vec<Vec<usize>> {
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    let mut seen: BTreeMap<K, usize> = BTreeMap::new();
    for (i, key) in keys.iter().enumerate() {
        let round = seen.entry(*key).and_modify(|r| *r += 1).or_insert(0);
        match rounds.get_mut(*round) {
            Some(positions) => positions.push(i),
            None => rounds.push(vec![i]),
        }
    }
    rounds
}

/// What a caller gets when the writing task is gone (its runtime shut down).
fn gone() -> StoreError {
    StoreError::Unavailable("the group writer stopped".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_that_add_up() {
        for n in 1..=MAX_BATCH {
            let items: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = chunks(&items).collect();
            let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|s| s.is_power_of_two()));
            assert!(sizes.windows(2).all(|w| w[0] > w[1]));
            assert_eq!(chunks.concat(), items, "every item once, in order");
        }
    }

    #[test]
    fn rounds_hold_each_key_once_and_keep_its_order() {
        assert_eq!(
            distinct_rounds(&['a', 'b', 'a', 'c', 'a', 'b']),
            vec![vec![0, 1, 3], vec![2, 5], vec![4]]
        );
        assert!(distinct_rounds::<u8>(&[]).is_empty());
    }
}
