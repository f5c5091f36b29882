//! Service-level policies as data: per priority an update target (staff must act within it;
//! it restarts on every staff action) and an optional resolution target (counted from
//! creation; it only pauses), each counted round the clock or in business hours; warnings
//! before a breach and reminders after one. [`SlaPolicySpec`] is the policy as it is written
//! (JSON, a form); [`SlaPolicy`] is a checked one that computes deadlines.
//!
//! ```
//! use helpdesk_core::sla::{SlaPolicy, SlaPolicySpec};
//! use helpdesk_core::Priority;
//!
//! let spec: SlaPolicySpec = serde_json::from_str(r#"{
//!     "business_hours": {"time_zone": "Europe/Berlin",
//!                        "week": {"mon": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]}},
//!     "targets": {
//!         "high":   {"update_seconds": 3600,  "resolve_seconds": 28800, "hours": "always"},
//!         "medium": {"update_seconds": 14400, "resolve_seconds": null,  "hours": "business"},
//!         "low":    {"update_seconds": 86400, "resolve_seconds": null,  "hours": "business"}},
//!     "warn_at_percent": 80
//! }"#).unwrap();
//! let policy = SlaPolicy::try_from(&spec).unwrap();
//! let friday = "2026-11-27T15:30:00Z".parse().unwrap(); // 16:30 in Berlin
//! let due = policy.update_due(Priority::Medium, friday, &[]).unwrap();
//! assert_eq!(due.to_rfc3339(), "2026-11-30T11:30:00+00:00"); // Monday 12:30
//! ```

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::business_hours::{BusinessHours, CalendarSpec, Pause, deadline};
use crate::model::wire_enum;
use crate::{AlwaysOpen, Calendar, Error, FieldErrors, Priority, Result, Sla, Status, Ticket};

wire_enum!(
    /// A service-level target of a ticket.
    Target, "target" {
        /// Staff must act within the update target.
        Update = "update",
        /// The ticket must be resolved within the resolution target.
        Resolution = "resolution",
    }
);

/// The longest target, warning or reminder interval: 366 days.
pub const TARGET_MAX_SECONDS: u64 = 366 * 24 * 3600;

/// The most reminders one escalation may send.
pub const REMINDERS_MAX: u32 = 100;

/// Which hours a target counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Hours {
    /// Every hour of every day.
    #[default]
    Always,
    /// Only inside the policy's business hours.
    Business,
}

/// The targets of one priority, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Staff must act within this many counted seconds (restarts on every staff action).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 31622400))]
    pub update_seconds: u64,
    /// The ticket must be resolved within this many counted seconds of its creation; `None`:
    /// no resolution target.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 31622400))]
    pub resolve_seconds: Option<u64>,
    /// Which hours count.
    #[serde(default)]
    pub hours: Hours,
}

/// The targets of each priority, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TargetsSpec {
    /// High priority.
    pub high: TargetSpec,
    /// Medium priority.
    pub medium: TargetSpec,
    /// Low priority.
    pub low: TargetSpec,
}

/// A service-level policy as written (`GET/PUT /api/sla`, a form, code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicySpec {
    /// The calendar of `hours: business` targets; `None`: every target counts always.
    #[serde(default)]
    pub business_hours: Option<CalendarSpec>,
    /// The targets per priority.
    pub targets: TargetsSpec,
    /// Warn when a target's counted time reaches this share of it (1 to 99); `None`: never.
    #[serde(default)]
    pub warn_at_percent: Option<u8>,
    /// While a ticket stays escalated, remind every this many counted seconds; `None`: never.
    #[serde(default)]
    pub remind_every_seconds: Option<u64>,
    /// At most this many reminders per escalation.
    #[serde(default)]
    pub max_reminders: u32,
}

impl SlaPolicySpec {
    /// Update targets only, counted always, as the `HELPDESK_ESCALATE_*` settings give them:
    /// the policy a store starts with.
    pub fn update_only(high: u64, medium: u64, low: u64) -> Self {
        let target = |update_seconds| TargetSpec {
            update_seconds,
            resolve_seconds: None,
            hours: Hours::Always,
        };
        Self {
            business_hours: None,
            targets: TargetsSpec {
                high: target(high),
                medium: target(medium),
                low: target(low),
            },
            warn_at_percent: None,
            remind_every_seconds: None,
            max_reminders: 0,
        }
    }
}

/// One priority's checked targets.
#[derive(Debug, Clone)]
struct Targets {
    update: Duration,
    resolve: Option<Duration>,
    calendar: Arc<dyn Calendar>,
}

/// A checked service-level policy: the spec it came from, and the deadlines it sets.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    spec: SlaPolicySpec,
    targets: [Targets; 3],
}

impl Default for SlaPolicy {
    /// The default [`EscalationPolicy`](crate::EscalationPolicy)'s windows as update targets.
    fn default() -> Self {
        Self::from(&crate::EscalationPolicy::default())
    }
}

impl From<&crate::EscalationPolicy> for SlaPolicy {
    fn from(policy: &crate::EscalationPolicy) -> Self {
        let target = |p| Targets {
            update: policy.window(p),
            resolve: None,
            calendar: Arc::new(AlwaysOpen),
        };
        Self {
            spec: SlaPolicySpec::from(policy),
            targets: [
                target(Priority::High),
                target(Priority::Medium),
                target(Priority::Low),
            ],
        }
    }
}

impl TryFrom<&SlaPolicySpec> for SlaPolicy {
    type Error = Error;

    /// Checks every field; errors name them as the JSON does (`targets.high.update_seconds`,
    /// `business_hours.time_zone`, ...).
    fn try_from(spec: &SlaPolicySpec) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let hours = match &spec.business_hours {
            None => None,
            Some(calendar) => match BusinessHours::try_from(calendar) {
                Ok(hours) => Some(Arc::new(hours)),
                Err(Error::Validation(e)) => {
                    errors.merge_under("business_hours", e);
                    None
                }
                Err(other) => return Err(other),
            },
        };
        let targets = [
            ("high", &spec.targets.high),
            ("medium", &spec.targets.medium),
            ("low", &spec.targets.low),
        ]
        .map(|(name, target)| {
            let field = format!("targets.{name}.update_seconds");
            let update = seconds(&mut errors, &field, target.update_seconds);
            let field = format!("targets.{name}.resolve_seconds");
            let resolve = target
                .resolve_seconds
                .map(|s| seconds(&mut errors, &field, s));
            let calendar: Arc<dyn Calendar> = match (target.hours, &hours) {
                (Hours::Business, Some(hours)) => hours.clone(),
                // A calendar that failed its checks is named once, under `business_hours`.
                (Hours::Business, None) if spec.business_hours.is_none() => {
                    let field = format!("targets.{name}.hours");
                    errors.add(&field, "business hours need a business_hours calendar");
                    Arc::new(AlwaysOpen)
                }
                _ => Arc::new(AlwaysOpen),
            };
            Targets {
                update,
                resolve,
                calendar,
            }
        });
        if spec.warn_at_percent.is_some_and(|p| !(1..=99).contains(&p)) {
            errors.add("warn_at_percent", "must be 1 to 99, or null");
        }
        if let Some(every) = spec.remind_every_seconds {
            seconds(&mut errors, "remind_every_seconds", every);
        }
        if spec.max_reminders > REMINDERS_MAX {
            errors.add("max_reminders", format!("must be at most {REMINDERS_MAX}"));
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(Self {
            spec: spec.clone(),
            targets,
        })
    }
}

/// The policy a helpdesk computes deadlines with, and its stored version.
#[derive(Debug, Clone)]
pub(crate) struct InForce {
    pub(crate) policy: SlaPolicy,
    pub(crate) version: i64,
}

impl InForce {
    /// Sets the ticket's deadlines (see [`SlaPolicy::apply`]) and marks them with this version,
    /// or with 0 if the ticket is out of play (its clocks stand still, it has no deadlines under
    /// any version: whatever policy is in force when they resume computes them).
    pub(crate) fn apply(&self, ticket: &mut Ticket, pauses: &[Pause]) {
        self.policy.apply(ticket, pauses);
        ticket.sla.policy_version = if ticket.status.counts() {
            self.version
        } else {
            0
        };
    }
}

/// `value` seconds as a duration, if it is 1 second to 366 days; else an error on `field`.
fn seconds(errors: &mut FieldErrors, field: &str, value: u64) -> Duration {
    match i64::try_from(value) {
        Ok(secs) if (1..=TARGET_MAX_SECONDS).contains(&value) => Duration::seconds(secs),
        _ => {
            errors.add(field, "must be 1 second to 366 days");
            Duration::zero()
        }
    }
}

impl SlaPolicy {
    /// The spec this policy was checked from.
    pub fn spec(&self) -> &SlaPolicySpec {
        &self.spec
    }

    fn target(&self, priority: Priority) -> &Targets {
        match priority {
            Priority::High => &self.targets[0],
            Priority::Medium => &self.targets[1],
            Priority::Low => &self.targets[2],
        }
    }

    /// When staff must have acted on a ticket whose clock (re)started at `clock_start`, not
    /// counting `pauses`; `None` while a pause lasts.
    pub fn update_due(
        &self,
        priority: Priority,
        clock_start: DateTime<Utc>,
        pauses: &[Pause],
    ) -> Option<DateTime<Utc>> {
        let target = self.target(priority);
        deadline(target.calendar.as_ref(), clock_start, target.update, pauses)
    }

    /// When a ticket created at `created_at` must be resolved, not counting `pauses`; `None`
    /// without a resolution target or while a pause lasts.
    pub fn resolve_due(
        &self,
        priority: Priority,
        created_at: DateTime<Utc>,
        pauses: &[Pause],
    ) -> Option<DateTime<Utc>> {
        let target = self.target(priority);
        deadline(
            target.calendar.as_ref(),
            created_at,
            target.resolve?,
            pauses,
        )
    }

    /// When the warning of a target's deadline goes out: once `warn_at_percent` of the target
    /// has counted since `start` (the clock start for the update target, creation for the
    /// resolution target), not counting `pauses`; `None` without `warn_at_percent`, without
    /// such a target, or while a pause lasts.
    pub fn warn_at(
        &self,
        priority: Priority,
        target: Target,
        start: DateTime<Utc>,
        pauses: &[Pause],
    ) -> Option<DateTime<Utc>> {
        let targets = self.target(priority);
        let duration = match target {
            Target::Update => targets.update,
            Target::Resolution => targets.resolve?,
        };
        let percent = i64::from(self.spec.warn_at_percent?);
        let work = Duration::milliseconds(duration.num_milliseconds() * percent / 100);
        deadline(targets.calendar.as_ref(), start, work, pauses)
    }

    /// The deadlines and warnings of a ticket of `priority` raised at `at`.
    pub fn opening(&self, priority: Priority, at: DateTime<Utc>) -> Sla {
        Sla {
            update_due_at: self.update_due(priority, at, &[]),
            resolve_due_at: self.resolve_due(priority, at, &[]),
            update_warn_at: self.warn_at(priority, Target::Update, at, &[]),
            resolve_warn_at: self.warn_at(priority, Target::Resolution, at, &[]),
            ..Sla::default()
        }
    }

    /// When a ticket of `priority` escalated or reminded at `from` is reminded next:
    /// `remind_every_seconds` of its priority's counted time later; `None` without reminders.
    pub fn next_reminder(&self, priority: Priority, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let every = self
            .spec
            .remind_every_seconds
            .filter(|_| self.spec.max_reminders > 0)?;
        let every = Duration::seconds(i64::try_from(every).ok()?);
        Some(self.target(priority).calendar.deadline(from, every))
    }

    /// The counted seconds (the priority's hours) from `ticket`'s creation to `at`, if a staff
    /// action at `at` is its first response: `None` if it has had one.
    pub fn first_response(&self, ticket: &Ticket, at: DateTime<Utc>) -> Option<i64> {
        let calendar = &self.target(ticket.priority).calendar;
        (ticket.sla.first_response_at.is_none())
            .then(|| calendar.counted(ticket.created_at, at).num_seconds())
    }

    /// The time zone deadlines are written in for people: the calendar's, else UTC.
    pub fn time_zone(&self) -> &str {
        self.spec
            .business_hours
            .as_ref()
            .map_or("UTC", |c| c.time_zone.as_str())
    }

    /// Sets a ticket's deadlines, warnings and `due_at` under this policy, for its status,
    /// priority and clock start, not counting `pauses` (its stints in `waiting`, `resolved` or
    /// `closed`, by start). Clears the update breach if the update clock restarted since.
    ///
    /// The update deadline runs from `clock_started_at` while the status is `open` or
    /// `in_progress`; an escalated ticket keeps the one that escalated it. The resolution
    /// deadline runs from creation while time counts. A deadline's warning is set unless the
    /// deadline is breached or was warned of already.
    pub fn apply(&self, ticket: &mut Ticket, pauses: &[Pause]) {
        let sla = &mut ticket.sla;
        if ticket.status.is_active() {
            let due = self.update_due(ticket.priority, ticket.clock_started_at, &[]);
            if due != sla.update_due_at {
                sla.update_breach = None;
            }
            sla.update_due_at = due;
        } else if ticket.status != Status::Escalated || sla.update_breach.is_none() {
            sla.update_due_at = None;
            sla.update_breach = None;
        }
        sla.resolve_due_at = if ticket.status.counts() {
            self.resolve_due(ticket.priority, ticket.created_at, pauses)
        } else {
            None
        };
        sla.update_warn_at = match sla.update_due_at {
            Some(due) if sla.update_breach.is_none() && sla.update_warned_due != Some(due) => self
                .warn_at(
                    ticket.priority,
                    Target::Update,
                    ticket.clock_started_at,
                    &[],
                ),
            _ => None,
        };
        sla.resolve_warn_at = match sla.resolve_due_at {
            Some(due)
                if sla.resolve_breach.is_none_or(|b| b.due_at != due)
                    && sla.resolve_warned_due != Some(due) =>
            {
                self.warn_at(
                    ticket.priority,
                    Target::Resolution,
                    ticket.created_at,
                    pauses,
                )
            }
            _ => None,
        };
        ticket.due_at = sla.next_due(ticket.status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> SlaPolicySpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn every_bad_field_is_named_as_the_json_names_it() {
        let bad = spec(serde_json::json!({
            "business_hours": {"time_zone": "Nowhere/Land", "week": {"mon": [["09:00", "17:00"]]}},
            "targets": {
                "high": {"update_seconds": 0, "resolve_seconds": 40000000, "hours": "always"},
                "medium": {"update_seconds": 14400, "hours": "business"},
                "low": {"update_seconds": 86400}
            },
            "warn_at_percent": 100,
            "remind_every_seconds": 0,
            "max_reminders": 1000
        }));
        let Err(Error::Validation(errors)) = SlaPolicy::try_from(&bad) else {
            panic!("accepted a bad policy");
        };
        for field in [
            "business_hours.time_zone",
            "targets.high.update_seconds",
            "targets.high.resolve_seconds",
            "warn_at_percent",
            "remind_every_seconds",
            "max_reminders",
        ] {
            assert_eq!(errors.get(field).len(), 1, "{field}: {errors:?}");
        }
        // A bad calendar is named once, not again as "business hours without a calendar".
        assert!(errors.get("targets.medium.hours").is_empty(), "{errors:?}");

        let mut no_calendar = SlaPolicySpec::update_only(3600, 14400, 86400);
        no_calendar.targets.low.hours = Hours::Business;
        let Err(Error::Validation(errors)) = SlaPolicy::try_from(&no_calendar) else {
            panic!("business hours without a calendar");
        };
        assert_eq!(errors.get("targets.low.hours").len(), 1, "{errors:?}");
    }

    #[test]
    fn targets_count_their_own_hours_and_pause() {
        let policy = SlaPolicy::try_from(&spec(serde_json::json!({
            "business_hours": {"time_zone": "UTC", "week": {"fri": [["09:00", "17:00"]]}},
            "targets": {
                "high": {"update_seconds": 3600, "resolve_seconds": 7200, "hours": "always"},
                "medium": {"update_seconds": 3600, "resolve_seconds": 7200, "hours": "business"},
                "low": {"update_seconds": 1}
            }
        })))
        .unwrap();
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let friday = t("2026-11-27T16:30:00Z");
        assert_eq!(
            policy.update_due(Priority::High, friday, &[]),
            Some(t("2026-11-27T17:30:00Z"))
        );
        // Business hours: half an hour on Friday, the rest next Friday.
        assert_eq!(
            policy.update_due(Priority::Medium, friday, &[]),
            Some(t("2026-12-04T09:30:00Z"))
        );
        assert_eq!(
            policy.resolve_due(Priority::Medium, friday, &[]),
            Some(t("2026-12-04T10:30:00Z"))
        );
        assert_eq!(
            policy.resolve_due(Priority::Low, friday, &[]),
            None,
            "no resolution target"
        );
        let waiting = [Pause {
            start: t("2026-11-27T16:45:00Z"),
            end: None,
        }];
        assert_eq!(policy.update_due(Priority::High, friday, &waiting), None);
        let waited = [Pause {
            start: t("2026-11-27T16:45:00Z"),
            end: Some(t("2026-11-27T17:45:00Z")),
        }];
        assert_eq!(
            policy.update_due(Priority::High, friday, &waited),
            Some(t("2026-11-27T18:30:00Z"))
        );
        assert_eq!(
            policy.update_due(Priority::Low, friday, &[]),
            Some(t("2026-11-27T16:30:01Z"))
        );
    }

    #[test]
    fn the_seed_policy_counts_always_and_round_trips_as_json() {
        let seed = SlaPolicySpec::update_only(3600, 14400, 86400);
        let policy = SlaPolicy::try_from(&seed).unwrap();
        let json = serde_json::to_value(policy.spec()).unwrap();
        assert_eq!(json["targets"]["high"]["hours"], "always");
        assert_eq!(json["business_hours"], serde_json::Value::Null);
        let back: SlaPolicySpec = serde_json::from_value(json).unwrap();
        assert_eq!(back, seed);
    }
}
