//! Group commit of new tickets: tickets raised at the same moment are written by one task in
//! one transaction, a few statements for all of them, instead of a transaction each queueing
//! for the writer connection. Every caller is answered only after the commit, so an
//! acknowledged ticket is a stored ticket, as before.

use std::sync::{Arc, Mutex};

use helpdesk_core::Ticket;
use helpdesk_core::store::{StoreError, StoreResult, TicketDraft};
use tokio::sync::{mpsc, oneshot};

/// Tickets written in one transaction at most.
pub(crate) const MAX_BATCH: usize = 64;

/// One ticket waiting to be written, and where its answer goes.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) draft: TicketDraft,
    pub(crate) reply: oneshot::Sender<StoreResult<Ticket>>,
}

/// The queue of the task that writes new tickets; the task starts with the first ticket (on
/// the runtime of its caller) and again if its runtime has gone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inserts(Arc<Mutex<Option<mpsc::Sender<Job>>>>);

impl Inserts {
    /// The queue, starting its task with `start` if there is none running.
    pub(crate) fn queue(&self, start: impl FnOnce(mpsc::Receiver<Job>)) -> mpsc::Sender<Job> {
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

/// The jobs waiting now, up to [`MAX_BATCH`], after `first`.
pub(crate) fn gather(first: Job, jobs: &mut mpsc::Receiver<Job>) -> Vec<Job> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// Splits `n` into powers of two, largest first, so that statements for any batch come from
/// a handful of shapes the connection keeps prepared (45 = 32 + 8 + 4 + 1).
pub(crate) fn chunk_sizes(n: usize) -> impl Iterator<Item = usize> {
    (0..usize::BITS)
        .rev()
        .map(|bit| 1usize << bit)
        .filter(move |size| n & size != 0)
}

/// What a caller gets when the writing task is gone (its runtime shut down).
pub(crate) fn gone() -> StoreError {
    StoreError::Unavailable("the ticket writer stopped".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_that_add_up() {
        for n in 1..=MAX_BATCH {
            let sizes: Vec<usize> = chunk_sizes(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|s| s.is_power_of_two()));
            assert!(sizes.windows(2).all(|w| w[0] > w[1]));
        }
    }
}
