//! Typed identifiers, so a ticket id can never be passed where a user id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    };
}

id_type!(
    /// Identifies a [`User`](crate::User).
    UserId
);
id_type!(
    /// Identifies a [`Ticket`](crate::Ticket).
    TicketId
);
id_type!(
    /// Identifies a [`Comment`](crate::Comment).
    CommentId
);
id_type!(
    /// Identifies a [`HistoryEvent`](crate::HistoryEvent).
    EventId
);
id_type!(
    /// Identifies a queued notification in the outbox.
    NotificationId
);
id_type!(
    /// Identifies a webhook subscription.
    WebhookId
);
id_type!(
    /// Identifies one delivery of one event to one webhook.
    DeliveryId
);
