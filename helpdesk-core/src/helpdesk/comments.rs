//! A ticket's thread and its history.

use super::throttle::{HOUR, throttle_key};
use super::tickets::{OPTIMISTIC_RETRIES, back_off};
use super::{Helpdesk, forbidden};
use crate::changes::plan_reply;
use crate::permissions::{Actor, can_comment};
use crate::store::{ClockRestart, CommentDraft, CommentEffect};
use crate::{
    Comment, Error, HistoryEvent, NewComment, Page, PageRequest, Result, Status, TicketId,
};

impl Helpdesk {
    /// A ticket's comments, oldest first.
    pub async fn list_comments(
        &self,
        actor: &Actor,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Page<Comment>> {
        self.get_ticket(actor, id).await?;
        Ok(self.inner.store.list_comments(id, page).await?)
    }

    /// Adds a comment (the creator, the assigned agent, or an admin). A comment by staff
    /// restarts the update clock; the creator's own comments do not, but the creator's
    /// comment on a `waiting` ticket moves it back to `open` (and its clocks run again).
    pub async fn add_comment(
        &self,
        actor: &Actor,
        id: TicketId,
        comment: NewComment,
    ) -> Result<Comment> {
        let ticket = self.get_ticket(actor, id).await?;
        if !can_comment(actor, &ticket) {
            return Err(forbidden("you may not comment on this ticket"));
        }
        let key = throttle_key(&["comments", &actor.id.to_string()]);
        // The hit is counted in the first attempt's transaction: one commit to wait for, not two.
        let mut quota = Some(self.quota(key, self.inner.limits.comments_per_hour, HOUR));
        let mut ticket = ticket;
        for attempt in 0..OPTIMISTIC_RETRIES {
            if attempt > 0 {
                back_off(attempt).await;
                ticket = self.get_ticket(actor, id).await?;
            }
            let now = self.now();
            let draft = CommentDraft {
                ticket_id: id,
                author_id: actor.id,
                body: comment.body.clone(),
                created_at: now,
            };
            let policy = self.policy().await?;
            // The creator's answer to a waiting ticket reopens it; that change must not be
            // lost to a concurrent one, so it is written only at the version it was planned on.
            let reply = if ticket.status == Status::Waiting {
                let pauses = self.inner.store.pauses(id).await?;
                plan_reply(actor, &ticket, (&policy, &pauses), now)
            } else {
                None
            };
            let restart = (reply.is_none() && actor.is_staff()).then(|| {
                ClockRestart::new(&policy.policy, now).responding_to(&policy.policy, &ticket)
            });
            let effect = match (&reply, &restart) {
                (Some(change), _) => CommentEffect::Change(change),
                (None, Some(restart)) => CommentEffect::Restart(restart),
                (None, None) => CommentEffect::None,
            };
            let store = &self.inner.store;
            let stored = match quota.take() {
                Some(quota) => store
                    .insert_comment_within(&draft, effect, &quota)
                    .await?
                    .map_err(|hits| self.refuse("comments", hits))?,
                None => store.insert_comment(&draft, effect).await?,
            };
            match stored {
                Some(comment) => return Ok(comment),
                None if reply.is_none() => return Err(Error::NotFound),
                None => {}
            }
        }
        Err(Error::Conflict(
            "the ticket is being changed by others; try again".into(),
        ))
    }

    /// A ticket's history, oldest first.
    pub async fn history(
        &self,
        actor: &Actor,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Page<HistoryEvent>> {
        self.get_ticket(actor, id).await?;
        Ok(self.inner.store.list_history(id, page).await?)
    }
}
