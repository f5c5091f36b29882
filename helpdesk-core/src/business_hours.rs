//! Business hours: weekly opening intervals in an IANA time zone, with holidays, as a
//! [`Calendar`] whose counted time is real time inside the intervals; and deadlines that skip
//! pauses. Pure functions of their inputs, so every instance and every recomputation agrees.
//!
//! ```
//! use helpdesk_core::business_hours::{BusinessHours, CalendarSpec};
//! use helpdesk_core::Calendar;
//!
//! let spec: CalendarSpec = serde_json::from_str(r#"{
//!     "time_zone": "Europe/Berlin",
//!     "week": {"mon": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]},
//!     "holidays": ["2026-12-25"]
//! }"#).unwrap();
//! let hours = BusinessHours::try_from(&spec).unwrap();
//! // Friday 16:30 in Berlin plus one business hour: Monday 09:30.
//! let raised = "2026-11-27T15:30:00Z".parse().unwrap();
//! let due = hours.deadline(raised, chrono::Duration::hours(1));
//! assert_eq!(due.to_rfc3339(), "2026-11-30T08:30:00+00:00");
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::offset::LocalResult;
use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{Calendar, Error, FieldErrors, Result};

/// The days of a week as a calendar names them, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// How far ahead a deadline is looked for: 200 years of days. A calendar open one hour a week
/// reaches a year of counted time within it; past it, the deadline is "never".
const HORIZON_DAYS: u64 = 200 * 366;

/// A calendar as it is written (in a policy, in JSON): an IANA time zone, opening intervals
/// per day as local `"HH:MM"` pairs (`"24:00"` may end one; a missing day is closed), and
/// holidays as local dates, closed all day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// An IANA time zone: `Europe/Berlin`, `America/New_York`, ...
    #[cfg_attr(feature = "openapi", schema(example = "Europe/Berlin"))]
    pub time_zone: String,
    /// `mon` .. `sun` to `[["09:00", "12:30"], ["13:30", "17:00"]]`: local opening intervals,
    /// `"24:00"` may end one; a missing day is closed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = week_schema))]
    pub week: BTreeMap<String, Vec<[String; 2]>>,
    /// Local dates closed all day: `2026-12-24`, ...
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// The schema of [`CalendarSpec::week`]: day names to lists of `["HH:MM", "HH:MM"]` pairs.
#[cfg(feature = "openapi")]
fn week_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Type};
    let time = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"));
    let pair = ArrayBuilder::new()
        .items(time)
        .min_items(Some(2))
        .max_items(Some(2));
    let day = ArrayBuilder::new().items(pair);
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(DAYS)),
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(day.into())))
        .build()
}

/// One opening interval of a day: minutes since local midnight, `end` up to 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    start: u32,
    end: u32,
}

/// Weekly opening hours in one time zone, with holidays. Build it from a [`CalendarSpec`].
///
/// Counted time is real elapsed time inside the intervals: on a DST change inside an interval
/// the interval is an hour shorter or longer. A local time that does not exist (spring
/// forward) is read as the first instant that exists after it; an ambiguous one (fall back) as
/// its first occurrence where an interval starts and its second where one ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    zone: Tz,
    week: [Vec<Span>; 7],
    holidays: BTreeSet<NaiveDate>,
}

impl TryFrom<&CalendarSpec> for BusinessHours {
    type Error = Error;

    /// Checks every field; the errors name `time_zone`, `week`, `week.<day>` and `holidays`.
    fn try_from(spec: &CalendarSpec) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let zone = spec.time_zone.parse::<Tz>().map_err(|_| {
            errors.add(
                "time_zone",
                "must be an IANA time zone, such as Europe/Berlin",
            )
        });
        let mut week: [Vec<Span>; 7] = Default::default();
        for (day, intervals) in &spec.week {
            let Some(index) = DAYS.iter().position(|d| d == day) else {
                errors.add(
                    "week",
                    format!("{day:?} is not a day: use {}", DAYS.join(", ")),
                );
                continue;
            };
            match spans(intervals) {
                Ok(spans) => week[index] = spans,
                Err(message) => errors.add(&format!("week.{day}"), message),
            }
        }
        if errors.is_empty() && week.iter().all(Vec::is_empty) {
            errors.add("week", "must open at least one interval");
        }
        let mut holidays = BTreeSet::new();
        for holiday in &spec.holidays {
            match NaiveDate::parse_from_str(holiday, "%Y-%m-%d") {
                Ok(date) => {
                    holidays.insert(date);
                }
                Err(_) => errors.add(
                    "holidays",
                    format!("{holiday:?} is not a date such as 2026-12-24"),
                ),
            }
        }
        match zone {
            Ok(zone) if errors.is_empty() => Ok(Self {
                zone,
                week,
                holidays,
            }),
            _ => Err(Error::Validation(errors)),
        }
    }
}

/// A day's intervals, sorted, each `HH:MM` to a later `HH:MM` (or `24:00`), none overlapping.
fn spans(intervals: &[[String; 2]]) -> std::result::Result<Vec<Span>, String> {
    let mut spans = Vec::with_capacity(intervals.len());
    for [from, to] in intervals {
        let (Some(start), Some(end)) = (minute(from), minute(to)) else {
            return Err(format!(
                "{from:?} to {to:?}: times are HH:MM, 00:00 to 24:00"
            ));
        };
        if start >= end {
            return Err(format!(
                "{from:?} to {to:?}: an interval must end after it starts"
            ));
        }
        spans.push(Span { start, end });
    }
    spans.sort();
    if spans.windows(2).any(|pair| pair[0].end > pair[1].start) {
        return Err("intervals must not overlap".into());
    }
    Ok(spans)
}

/// Minutes since midnight of `HH:MM` (`24:00` is 1440).
fn minute(text: &str) -> Option<u32> {
    if text == "24:00" {
        return Some(1440);
    }
    let time = NaiveTime::parse_from_str(text, "%H:%M").ok()?;
    Some(time.hour() * 60 + time.minute())
}

impl BusinessHours {
    /// The time zone the intervals are in.
    pub fn time_zone(&self) -> Tz {
        self.zone
    }

    /// The instant of local `minute` on `date`; `end` picks the second occurrence of an
    /// ambiguous time, and a time in a gap is the first instant after it.
    fn instant(&self, date: NaiveDate, minute: u32, end: bool) -> Option<DateTime<Utc>> {
        let (date, minute) = match minute {
            1440 => (date.checked_add_days(Days::new(1))?, 0),
            m => (date, m),
        };
        let midnight = date.and_hms_opt(0, 0, 0)?;
        // A gap lasts at most a few hours; the first local minute after it exists.
        for later in 0..=24 * 60 {
            let local = midnight + Duration::minutes(i64::from(minute + later));
            match self.zone.from_local_datetime(&local) {
                LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(first, second) => {
                    let chosen = if end { second } else { first };
                    return Some(chosen.with_timezone(&Utc));
                }
                LocalResult::None => continue,
            }
        }
        None
    }

    /// The open intervals in real time that end after `from`, in order, without overlaps
    /// (a fall-back hour cannot make two intervals count the same time twice).
    fn open_after(
        &self,
        from: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first = from.with_timezone(&self.zone).date_naive();
        let days = (0..HORIZON_DAYS).map_while(move |k| first.checked_add_days(Days::new(k)));
        let mut until = from;
        days.filter(|date| !self.holidays.contains(date))
            .flat_map(move |date| {
                let day = date.weekday().num_days_from_monday() as usize;
                self.week[day].iter().filter_map(move |span| {
                    Some((
                        self.instant(date, span.start, false)?,
                        self.instant(date, span.end, true)?,
                    ))
                })
            })
            .filter_map(move |(start, end)| {
                let start = start.max(until);
                if end <= start {
                    return None;
                }
                until = end;
                Some((start, end))
            })
    }
}

impl Calendar for BusinessHours {
    fn deadline(&self, start: DateTime<Utc>, work: Duration) -> DateTime<Utc> {
        if work <= Duration::zero() {
            return start;
        }
        let mut left = work;
        for (open, close) in self.open_after(start) {
            let span = close - open;
            if span >= left {
                return open + left;
            }
            left -= span;
        }
        DateTime::<Utc>::MAX_UTC
    }

    fn counted(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        for (open, close) in self.open_after(from) {
            if open >= to {
                break;
            }
            total += close.min(to) - open;
        }
        total
    }
}

/// A span during which a ticket's clock stood still (it was `waiting`); `end` is `None` while it
/// still does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// When the clock stopped.
    pub start: DateTime<Utc>,
    /// When it went on, if it has.
    pub end: Option<DateTime<Utc>>,
}

/// When `work` of counted time has passed since `start` in `calendar`, not counting inside
/// `pauses` (in order, not overlapping); `None` while a pause that has not ended stops the
/// clock before the deadline.
///
/// ```
/// use chrono::{DateTime, Duration, Utc};
/// use helpdesk_core::AlwaysOpen;
/// use helpdesk_core::business_hours::{Pause, deadline};
///
/// let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
/// let paused = [Pause { start: t("2026-11-27T10:00:00Z"), end: Some(t("2026-11-27T12:00:00Z")) }];
/// let due = deadline(&AlwaysOpen, t("2026-11-27T09:30:00Z"), Duration::hours(1), &paused);
/// assert_eq!(due, Some(t("2026-11-27T12:30:00Z")));
/// ```
pub fn deadline(
    calendar: &dyn Calendar,
    start: DateTime<Utc>,
    work: Duration,
    pauses: &[Pause],
) -> Option<DateTime<Utc>> {
    let mut from = start;
    let mut left = work;
    for pause in pauses
        .iter()
        .filter(|p| p.end.is_none_or(|end| end > start))
    {
        let due = calendar.deadline(from, left);
        if due <= pause.start {
            return Some(due);
        }
        left -= calendar.counted(from, pause.start.max(from));
        from = pause.end?.max(from);
    }
    Some(calendar.deadline(from, left))
}

#[cfg(test)]
mod tests;
