//! The service-level policy: reading it, replacing it, and keeping every active ticket's
//! deadlines in step with the version stored.

use std::sync::Arc;

use super::{Helpdesk, require_admin, require_staff};
use crate::business_hours::Pause;
use crate::permissions::Actor;
use crate::sla::{InForce, SlaPolicy, SlaPolicySpec};
use crate::store::{DeadlineUpdate, StoredPolicy};
use crate::{Error, Result, TicketId};

/// How many tickets one recomputation step reads and writes.
const RECOMPUTE_BATCH: u32 = 500;

impl Helpdesk {
    /// The service-level policy in force (agents and admins), as stored.
    pub async fn sla_policy(&self, actor: &Actor) -> Result<StoredPolicy> {
        require_staff(actor, "see the service-level policy")?;
        self.sync_sla_policy().await
    }

    /// Replaces the service-level policy (admins): checks every field (a
    /// [`Error::Validation`] names each bad one), stores it for every instance on the store
    /// (with `if_match`, only if the stored version is still that one, else
    /// [`Error::PreconditionFailed`]), and recomputes the deadlines of every ticket still in
    /// play (`open`, `in_progress`, `escalated`, `waiting`) before answering. A ticket now past
    /// a deadline escalates at the next sweep, once.
    pub async fn replace_sla_policy(
        &self,
        actor: &Actor,
        spec: SlaPolicySpec,
        if_match: Option<i64>,
    ) -> Result<StoredPolicy> {
        require_admin(actor, "change the service-level policy")?;
        let policy = SlaPolicy::try_from(&spec)?;
        self.policy().await?; // a store replaces only a policy it holds: seed it first
        let stored = self
            .inner
            .store
            .replace_sla_policy(&spec, if_match, self.now())
            .await?
            .map_err(|current| Error::PreconditionFailed {
                current: current.version,
            })?;
        tracing::info!(version = stored.version, "service-level policy replaced");
        let in_force = self.put_in_force(InForce {
            policy,
            version: stored.version,
        });
        self.recompute(&in_force).await?;
        Ok(stored)
    }

    /// The policy deadlines are computed with now: the cached one, or the stored one on first
    /// use (stored from the seed if the store holds none).
    pub(crate) async fn policy(&self) -> Result<Arc<InForce>> {
        if let Some(in_force) = self.cached_policy() {
            return Ok(in_force);
        }
        self.sync_sla_policy().await?;
        self.cached_policy()
            .ok_or_else(|| Error::Store("no service-level policy in force".into()))
    }

    fn cached_policy(&self) -> Option<Arc<InForce>> {
        self.inner
            .policy
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Reads the stored policy (storing the builder's as version 1 if there is none) and, if
    /// its version is not the one in force here, puts it in force and recomputes the
    /// deadlines another version computed. The escalation engine calls it before every sweep,
    /// which is how a policy stored by another instance reaches this one; hosts may call it at
    /// start-up, to fail early and to say which policy is in force.
    pub async fn sync_sla_policy(&self) -> Result<StoredPolicy> {
        let store = &self.inner.store;
        let stored = match store.sla_policy().await? {
            Some(stored) => stored,
            None => {
                let stored = store.seed_sla_policy(&self.inner.seed, self.now()).await?;
                tracing::info!(version = stored.version, "service-level policy seeded");
                stored
            }
        };
        let in_force = match self.cached_policy() {
            Some(in_force) if in_force.version >= stored.version => in_force,
            _ => {
                let policy = SlaPolicy::try_from(&stored.spec).map_err(|e| {
                    let message = format!("the stored service-level policy is not valid: {e}");
                    Error::Store(message.into())
                })?;
                self.put_in_force(InForce {
                    policy,
                    version: stored.version,
                })
            }
        };
        self.recompute(&in_force).await?;
        Ok(stored)
    }

    /// Puts a policy in force here, unless a newer one already is; the one in force.
    fn put_in_force(&self, in_force: InForce) -> Arc<InForce> {
        let mut slot = self
            .inner
            .policy
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match slot.as_ref() {
            Some(current) if current.version >= in_force.version => current.clone(),
            _ => {
                let in_force = Arc::new(in_force);
                *slot = Some(in_force.clone());
                in_force
            }
        }
    }

    /// Recomputes the deadlines of every ticket in play that an older version computed: all
    /// of them after a new policy; now and then one that a change planned with the old
    /// policy wrote while the new one was put in force.
    async fn recompute(&self, in_force: &InForce) -> Result<()> {
        let mut after = (0, TicketId(0));
        let mut written = 0;
        loop {
            let batch = self
                .inner
                .store
                .tickets_off_policy(in_force.version, after, RECOMPUTE_BATCH)
                .await?;
            let Some((last, _)) = batch.last() else {
                break;
            };
            after = (last.sla.policy_version, last.id);
            let updates: Vec<DeadlineUpdate> = batch
                .into_iter()
                .map(|(mut ticket, pauses)| {
                    let pauses: Vec<Pause> = pauses.iter().map(Pause::from).collect();
                    in_force.apply(&mut ticket, &pauses);
                    DeadlineUpdate {
                        id: ticket.id,
                        version: ticket.version,
                        due_at: ticket.due_at,
                        sla: ticket.sla,
                    }
                })
                .collect();
            written += self.inner.store.set_deadlines(&updates).await?;
        }
        if written > 0 {
            tracing::info!(
                version = in_force.version,
                tickets = written,
                "deadlines recomputed for the service-level policy"
            );
        }
        Ok(())
    }
}
