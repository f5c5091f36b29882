//! The outbox as admins see it.

use super::{Helpdesk, require_admin};
use crate::notify::{Notification, NotificationState};
use crate::permissions::Actor;
use crate::{Error, NotificationId, Page, PageRequest, Result};

impl Helpdesk {
    /// Queued, sent or failed notifications, newest first (admins).
    pub async fn notifications(
        &self,
        actor: &Actor,
        state: NotificationState,
        page: PageRequest,
    ) -> Result<Page<Notification>> {
        require_admin(actor, "see notifications")?;
        Ok(self.inner.store.list_notifications(state, page).await?)
    }

    /// Queues a failed notification for delivery again (admins).
    pub async fn retry_notification(&self, actor: &Actor, id: NotificationId) -> Result<()> {
        require_admin(actor, "retry notifications")?;
        if self.inner.store.retry_notification(id, self.now()).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}
