//! Webhook subscriptions and their deliveries (admins), and subscriptions in code.

use chrono::Duration;

use super::{Helpdesk, require_admin};
use crate::permissions::Actor;
use crate::store::WebhookDraft;
use crate::webhooks::{
    Delivery, DeliveryState, Event, EventFilter, IN_PROCESS, MAX_WEBHOOKS, NewWebhook, Secret,
    Webhook, WebhookDispatcher, WebhookPatch,
};
use crate::{DeliveryId, Error, Page, PageRequest, Result, WebhookId};

/// How long a rotated-out secret keeps signing beside the new one.
const ROTATION_OVERLAP: Duration = Duration::hours(24);

impl Helpdesk {
    /// Subscribes a URL to events (admins): the subscription and its signing secret, which
    /// is shown only here and on rotation. The URL's host must pass the
    /// [`TargetPolicy`](crate::webhooks::TargetPolicy); at most
    /// [`MAX_WEBHOOKS`] subscriptions.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        new: NewWebhook,
    ) -> Result<(Webhook, Secret)> {
        require_admin(actor, "manage webhooks")?;
        self.check_target(&new.url).await?;
        // The count comes with any page; one row is the least to read.
        let existing = self
            .inner
            .store
            .list_webhooks(PageRequest::new(1, 1)?)
            .await?;
        if existing.count >= MAX_WEBHOOKS {
            return Err(Error::Conflict(format!(
                "a helpdesk holds at most {MAX_WEBHOOKS} webhooks; delete one first"
            )));
        }
        let secret = Secret::generate()?;
        let draft = WebhookDraft {
            url: new.url.to_string(),
            description: new.description,
            events: new.events,
            secret: secret.clone(),
            created_at: self.now(),
        };
        let webhook = self.inner.store.insert_webhook(&draft).await?;
        Ok((webhook, secret))
    }

    /// Every subscription, oldest first (admins).
    pub async fn webhooks(&self, actor: &Actor, page: PageRequest) -> Result<Page<Webhook>> {
        require_admin(actor, "manage webhooks")?;
        Ok(self.inner.store.list_webhooks(page).await?)
    }

    /// One subscription (admins).
    pub async fn webhook(&self, actor: &Actor, id: WebhookId) -> Result<Webhook> {
        require_admin(actor, "manage webhooks")?;
        self.inner.store.webhook(id).await?.ok_or(Error::NotFound)
    }

    /// Changes a subscription (admins); a new URL is checked as on creation.
    pub async fn update_webhook(
        &self,
        actor: &Actor,
        id: WebhookId,
        patch: WebhookPatch,
    ) -> Result<Webhook> {
        require_admin(actor, "manage webhooks")?;
        let current = self.inner.store.webhook(id).await?.ok_or(Error::NotFound)?;
        if current.url.starts_with(IN_PROCESS) && patch.url.is_some() {
            return Err(Error::invalid(
                "url",
                "an in-process subscription keeps its name; change it in code",
            ));
        }
        if let Some(url) = &patch.url {
            self.check_target(url).await?;
        }
        self.inner
            .store
            .update_webhook(id, &patch, self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// Deletes a subscription with its deliveries (admins).
    pub async fn delete_webhook(&self, actor: &Actor, id: WebhookId) -> Result<()> {
        require_admin(actor, "manage webhooks")?;
        if self.inner.store.delete_webhook(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Gives a subscription a new secret (admins). The old one signs beside it for a day, so
    /// receivers can switch without losing events.
    pub async fn rotate_webhook_secret(&self, actor: &Actor, id: WebhookId) -> Result<Secret> {
        require_admin(actor, "manage webhooks")?;
        let secret = Secret::generate()?;
        let now = self.now();
        if self
            .inner
            .store
            .rotate_webhook_secret(id, &secret, now + ROTATION_OVERLAP, now)
            .await?
        {
            Ok(secret)
        } else {
            Err(Error::NotFound)
        }
    }

    /// Queues a `webhook.ping` event for one subscription (admins): its delivery.
    pub async fn ping_webhook(&self, actor: &Actor, id: WebhookId) -> Result<Delivery> {
        require_admin(actor, "manage webhooks")?;
        let event = Event::ping(actor.id, self.now());
        self.inner
            .store
            .queue_for_webhook(id, &event)
            .await?
            .ok_or(Error::NotFound)
    }

    /// A subscription's deliveries, newest first, in one state or all (admins).
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        id: WebhookId,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> Result<Page<Delivery>> {
        require_admin(actor, "manage webhooks")?;
        self.inner.store.webhook(id).await?.ok_or(Error::NotFound)?;
        Ok(self.inner.store.list_deliveries(id, state, page).await?)
    }

    /// Sends a delivery again from now, with a fresh day of retries (admins).
    pub async fn redeliver(&self, actor: &Actor, id: DeliveryId) -> Result<Delivery> {
        require_admin(actor, "manage webhooks")?;
        self.inner
            .store
            .redeliver(id, self.now())
            .await?
            .ok_or(Error::NotFound)
    }

    /// Subscribes a handler in this process, called `name`, to `events` (created on the first
    /// call, its events updated on later ones); register the handler itself with
    /// [`WebhookDispatcher::with_handler`]. Its events are queued in the changes' transactions
    /// and retried like any webhook's, so none is lost when the process stops.
    ///
    /// ```no_run
    /// # use helpdesk_core::Helpdesk;
    /// # use helpdesk_core::webhooks::{EventFilter, Message};
    /// # async fn demo(helpdesk: Helpdesk) -> helpdesk_core::Result<()> {
    /// let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(64);
    /// helpdesk.subscribe_in_process("crm-sync", &EventFilter::All).await?;
    /// let dispatcher = helpdesk.webhook_dispatcher().with_handler("crm-sync", tx);
    /// let handle = dispatcher.spawn(std::time::Duration::from_secs(1));
    /// while let Some(message) = rx.recv().await {
    ///     println!("{} {}", message.event_type, message.payload);
    /// }
    /// # handle.shutdown().await; Ok(()) }
    /// ```
    pub async fn subscribe_in_process(&self, name: &str, events: &EventFilter) -> Result<Webhook> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(Error::invalid("name", "1 to 100 characters"));
        }
        Ok(self
            .inner
            .store
            .ensure_in_process_webhook(name, events, self.now())
            .await?)
    }

    /// A webhook dispatcher over this helpdesk's store, clock and target policy; give it a
    /// transport for URLs (`helpdesk_webhooks::HttpTransport`) and handlers for in-process
    /// subscriptions.
    pub fn webhook_dispatcher(&self) -> WebhookDispatcher {
        WebhookDispatcher::new(
            self.inner.store.clone(),
            self.inner.clock.clone(),
            self.inner.targets,
        )
    }

    async fn check_target(&self, url: &url::Url) -> Result<()> {
        self.inner
            .targets
            .resolve(url)
            .await
            .map(drop)
            .map_err(|e| Error::invalid("url", e.to_string()))
    }
}
