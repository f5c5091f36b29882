use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;
use crate::{AlwaysOpen, Calendar};

fn hours(zone: &str, week: &[(&str, &[(&str, &str)])], holidays: &[&str]) -> BusinessHours {
    let spec = CalendarSpec {
        time_zone: zone.into(),
        week: week
            .iter()
            .map(|(day, spans)| {
                let spans = spans
                    .iter()
                    .map(|(a, b)| [(*a).to_owned(), (*b).to_owned()]);
                ((*day).to_owned(), spans.collect())
            })
            .collect(),
        holidays: holidays.iter().map(|h| (*h).to_owned()).collect(),
    };
    BusinessHours::try_from(&spec).unwrap()
}

/// Mon-Fri 09:00-17:00 in `zone`.
fn office(zone: &str, holidays: &[&str]) -> BusinessHours {
    let day: &[(&str, &str)] = &[("09:00", "17:00")];
    let week = [
        ("mon", day),
        ("tue", day),
        ("wed", day),
        ("thu", day),
        ("fri", day),
    ];
    hours(zone, &week, holidays)
}

/// Open all day every day in `zone`: counted time is real time.
fn always(zone: &str) -> BusinessHours {
    let day: &[(&str, &str)] = &[("00:00", "24:00")];
    hours(zone, &DAYS.map(|d| (d, day)), &[])
}

/// A local wall-clock time in `zone` (its first occurrence), as an instant.
fn local(zone: &str, at: &str) -> DateTime<Utc> {
    let zone: Tz = zone.parse().unwrap();
    let naive = NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M").unwrap();
    zone.from_local_datetime(&naive)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn utc(at: &str) -> DateTime<Utc> {
    at.parse().unwrap()
}

#[test]
fn an_hour_before_closing_on_friday_ends_on_monday_morning() {
    let berlin = office("Europe/Berlin", &[]);
    let friday = local("Europe/Berlin", "2026-11-27 16:30");
    let due = berlin.deadline(friday, Duration::hours(1));
    assert_eq!(due, local("Europe/Berlin", "2026-11-30 09:30"));
    // Unless Monday is a holiday.
    let holiday = office("Europe/Berlin", &["2026-11-30"]);
    let due = holiday.deadline(friday, Duration::hours(1));
    assert_eq!(due, local("Europe/Berlin", "2026-12-01 09:30"));
    // New York, across its spring-forward weekend: EST on Friday, EDT on Monday.
    let new_york = office("America/New_York", &[]);
    let friday = utc("2026-03-06T21:30:00Z"); // 16:30 EST
    assert_eq!(
        new_york.deadline(friday, Duration::hours(1)),
        utc("2026-03-09T13:30:00Z")
    );
}

#[test]
fn days_with_a_dst_change_are_an_hour_shorter_or_longer() {
    // (zone, the local date of the change, its real length)
    let cases = [
        ("Europe/Berlin", "2026-03-29", 23),
        ("Europe/Berlin", "2026-10-25", 25),
        ("America/New_York", "2026-03-08", 23),
        ("America/New_York", "2026-11-01", 25),
        ("Australia/Sydney", "2026-04-05", 25),
        ("Australia/Sydney", "2026-10-04", 23),
        ("Europe/Berlin", "2026-11-27", 24),
    ];
    for (zone, date, length) in cases {
        let calendar = always(zone);
        let midnight = local(zone, &format!("{date} 00:00"));
        let next = midnight + Duration::hours(length);
        assert_eq!(
            calendar.counted(midnight, next),
            Duration::hours(length),
            "{zone} {date}"
        );
        assert_eq!(
            calendar.deadline(midnight, Duration::hours(length)),
            next,
            "{zone} {date}"
        );
        // Local midnight to local midnight is the day's length in real time.
        let zone_tz: Tz = zone.parse().unwrap();
        let local_next = (midnight + Duration::hours(length)).with_timezone(&zone_tz);
        assert_eq!(
            local_next.format("%H:%M").to_string(),
            "00:00",
            "{zone} {date}"
        );
    }
}

#[test]
fn intervals_in_a_gap_start_when_time_exists_and_in_a_fold_span_both_occurrences() {
    // Berlin springs from 02:00 to 03:00 on 2026-03-29: 02:30 does not exist, so the interval
    // starts at 03:00 and counts one hour, not an hour and a half.
    let night: &[(&str, &str)] = &[("02:30", "04:00")];
    let berlin = hours("Europe/Berlin", &[("sun", night)], &[]);
    let spring = local("Europe/Berlin", "2026-03-29 00:00");
    assert_eq!(
        berlin.counted(spring, spring + Duration::hours(12)),
        Duration::hours(1)
    );
    let plain = local("Europe/Berlin", "2026-03-22 00:00");
    assert_eq!(
        berlin.counted(plain, plain + Duration::hours(12)),
        Duration::minutes(90)
    );
    // It falls back from 03:00 to 02:00 on 2026-10-25: 02:30 to 02:45 starts at the first
    // 02:30 and ends at the second 02:45, 75 minutes of real time.
    let fold: &[(&str, &str)] = &[("02:30", "02:45")];
    let berlin = hours("Europe/Berlin", &[("sun", fold)], &[]);
    let autumn = local("Europe/Berlin", "2026-10-25 00:00");
    assert_eq!(
        berlin.counted(autumn, autumn + Duration::hours(12)),
        Duration::minutes(75)
    );
    // Two intervals that meet in the fold never count the same time twice.
    let touching: &[(&str, &str)] = &[("01:00", "02:30"), ("02:30", "04:00")];
    let berlin = hours("Europe/Berlin", &[("sun", touching)], &[]);
    assert_eq!(
        berlin.counted(autumn, autumn + Duration::hours(12)),
        Duration::hours(4)
    );
}

#[test]
fn intervals_across_midnight_and_back_to_back_are_one_stretch() {
    let late: &[(&str, &str)] = &[("22:00", "24:00")];
    let early: &[(&str, &str)] = &[("00:00", "02:00")];
    let night = hours("Europe/Berlin", &[("sat", late), ("sun", early)], &[]);
    let saturday = local("Europe/Berlin", "2026-11-28 23:00");
    let due = night.deadline(saturday, Duration::hours(2));
    assert_eq!(due, local("Europe/Berlin", "2026-11-29 01:00"));
    let split: &[(&str, &str)] = &[("09:00", "12:00"), ("12:00", "17:00")];
    let joined = hours("Europe/Berlin", &[("mon", split)], &[]);
    let monday = local("Europe/Berlin", "2026-11-30 08:00");
    assert_eq!(
        joined.deadline(monday, Duration::hours(8)),
        local("Europe/Berlin", "2026-11-30 17:00")
    );
}

#[test]
fn pauses_stop_the_clock_only_inside_business_hours() {
    let berlin = office("Europe/Berlin", &[]);
    let at = |s: &str| local("Europe/Berlin", s);
    let monday = at("2026-11-30 16:00");
    let work = Duration::hours(2);
    let plain = deadline(&berlin, monday, work, &[]);
    assert_eq!(plain, Some(at("2026-12-01 10:00")));
    // A pause wholly outside business hours changes nothing.
    let overnight = [Pause {
        start: at("2026-11-30 18:00"),
        end: Some(at("2026-12-01 08:00")),
    }];
    assert_eq!(deadline(&berlin, monday, work, &overnight), plain);
    // One that starts inside them stops the clock from its start.
    let from_half_past = [Pause {
        start: at("2026-11-30 16:30"),
        end: Some(at("2026-12-01 08:00")),
    }];
    assert_eq!(
        deadline(&berlin, monday, work, &from_half_past),
        Some(at("2026-12-01 10:30"))
    );
    // One that ends inside them starts it again at its end.
    let until_ten = [Pause {
        start: at("2026-11-30 16:30"),
        end: Some(at("2026-12-01 10:00")),
    }];
    assert_eq!(
        deadline(&berlin, monday, work, &until_ten),
        Some(at("2026-12-01 11:30"))
    );
    // While a pause lasts there is no deadline; one after the deadline does not matter.
    let open = [Pause {
        start: at("2026-11-30 16:30"),
        end: None,
    }];
    assert_eq!(deadline(&berlin, monday, work, &open), None);
    let later = [Pause {
        start: at("2026-12-01 11:00"),
        end: None,
    }];
    assert_eq!(deadline(&berlin, monday, work, &later), plain);
    // Round the clock, a pause simply adds its length.
    let start = utc("2026-11-27T09:30:00Z");
    let pauses = [
        Pause {
            start: utc("2026-11-27T10:00:00Z"),
            end: Some(utc("2026-11-27T11:00:00Z")),
        },
        Pause {
            start: utc("2026-11-27T11:30:00Z"),
            end: Some(utc("2026-11-27T12:00:00Z")),
        },
    ];
    let due = deadline(&AlwaysOpen, start, Duration::hours(2), &pauses);
    assert_eq!(due, Some(utc("2026-11-27T13:00:00Z")));
}

#[test]
fn a_malformed_calendar_names_each_bad_field() {
    let spec: CalendarSpec = serde_json::from_value(serde_json::json!({
        "time_zone": "Mars/Olympus",
        "week": {
            "mon": [["09:00", "17:00"], ["16:00", "18:00"]],
            "tue": [["17:00", "09:00"]],
            "wed": [["9am", "5pm"]],
            "funday": [["09:00", "10:00"]]
        },
        "holidays": ["2026-13-01"]
    }))
    .unwrap();
    let Err(Error::Validation(errors)) = BusinessHours::try_from(&spec) else {
        panic!("accepted a malformed calendar");
    };
    for field in [
        "time_zone",
        "week.mon",
        "week.tue",
        "week.wed",
        "week",
        "holidays",
    ] {
        assert_eq!(errors.get(field).len(), 1, "{field}: {errors:?}");
    }
    let closed = CalendarSpec {
        time_zone: "UTC".into(),
        ..CalendarSpec::default()
    };
    assert!(
        BusinessHours::try_from(&closed).is_err(),
        "a week that never opens"
    );
}

/// Calendars of random weeks (quarter-hour intervals) in zones with and without DST, in both
/// hemispheres.
fn calendars() -> impl Strategy<Value = BusinessHours> {
    let zones = prop::sample::select(vec![
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "UTC",
    ]);
    let day = prop::collection::vec((0u32..96, 1u32..32), 0..3);
    let week = prop::collection::vec(day, 7);
    (zones, week).prop_filter_map("a week that opens", |(zone, week)| {
        let mut spec = CalendarSpec {
            time_zone: zone.into(),
            ..CalendarSpec::default()
        };
        for (day, spans) in DAYS.iter().zip(week) {
            // Consecutive intervals from quarter-hour gaps and lengths, within the day.
            let mut at = 0u32;
            let mut list = Vec::new();
            for (gap, length) in spans {
                let (start, end) = (at + gap, (at + gap + length).min(96));
                if start >= end {
                    break;
                }
                let hhmm = |q: u32| format!("{:02}:{:02}", q / 4, q % 4 * 15);
                list.push([hhmm(start), hhmm(end)]);
                at = end;
            }
            spec.week.insert((*day).to_owned(), list);
        }
        BusinessHours::try_from(&spec).ok()
    })
}

/// Instants in 2026 and 2027, to the minute: every DST change of both years is in reach.
fn instants() -> impl Strategy<Value = DateTime<Utc>> {
    let start = utc("2026-01-01T00:00:00Z").timestamp() / 60;
    (start..start + 2 * 366 * 24 * 60).prop_map(|m| DateTime::from_timestamp(m * 60, 0).unwrap())
}

/// Durations up to 200 hours, to the minute.
fn works() -> impl Strategy<Value = Duration> {
    (0i64..200 * 60).prop_map(Duration::minutes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn adding_counted_time_is_additive(c in calendars(), t in instants(), a in works(), b in works()) {
        prop_assert_eq!(c.deadline(c.deadline(t, a), b), c.deadline(t, a + b));
    }

    #[test]
    fn later_starts_and_more_work_never_end_earlier(
        c in calendars(), t in instants(), a in works(), b in works(), shift in works()
    ) {
        let (less, more) = (a.min(b), a.max(b));
        prop_assert!(c.deadline(t, less) <= c.deadline(t, more));
        prop_assert!(c.deadline(t, a) <= c.deadline(t + shift, a));
    }

    #[test]
    fn a_deadline_counts_its_work_and_falls_inside_an_interval(
        c in calendars(), t in instants(), a in works()
    ) {
        let due = c.deadline(t, a);
        prop_assert_eq!(c.counted(t, due), a);
        if a > Duration::zero() {
            // The minute before it was open: the deadline is inside an interval or at its end.
            prop_assert_eq!(c.counted(due - Duration::minutes(1), due), Duration::minutes(1));
        }
    }

    #[test]
    fn a_pause_outside_business_hours_changes_nothing(
        c in calendars(), t in instants(), a in works(), from in works(), length in works()
    ) {
        let start = t + from;
        let end = start + length;
        let pause = [Pause { start, end: Some(end) }];
        let paused = deadline(&c, t, a, &pause);
        if c.counted(start, end) == Duration::zero() {
            prop_assert_eq!(paused, Some(c.deadline(t, a)));
        } else {
            // Otherwise it moves the deadline by exactly the business time it held, or not at
            // all when the deadline came first.
            let plain = c.deadline(t, a);
            let paused = paused.unwrap();
            prop_assert!(paused >= plain);
            let held = c.counted(start.max(t), end.min(paused));
            prop_assert_eq!(c.counted(t, paused) - held, a);
        }
    }
}
