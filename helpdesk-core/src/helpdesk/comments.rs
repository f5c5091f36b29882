//! A ticket's thread and its history.

use super::throttle::{HOUR, throttle_key};
use super::{Helpdesk, forbidden};
use crate::permissions::{Actor, can_comment};
use crate::store::{ClockRestart, CommentDraft};
use crate::{Comment, Error, HistoryEvent, NewComment, Page, PageRequest, Result, TicketId};

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
    /// restarts the escalation clock; the creator's own comments do not.
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
        self.count("comments", key, self.inner.limits.comments_per_hour, HOUR)
            .await?;
        let now = self.now();
        let draft = CommentDraft {
            ticket_id: id,
            author_id: actor.id,
            body: comment.body,
            created_at: now,
        };
        let restart = actor
            .is_staff()
            .then(|| ClockRestart::new(&self.inner.policy, now));
        self.inner
            .store
            .insert_comment(&draft, restart.as_ref())
            .await?
            .ok_or(Error::NotFound)
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
