//! Writing notifications into the outbox, inside the caller's transaction.

use super::notices::Notice;
use crate::db::accounts::members as members_of;
use crate::db::outbox::{enqueue, enqueue_to_address, MembersNotice, NewOutboxRow};
use crate::db::Conn;
use crate::db::Error;
use crate::domain::outbox::OutboxStatus;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The channels every notification goes out on; mail delivery (see [`super::engine::mail`])
/// honours each user's settings, the in-app feed has it at once.
const CHANNELS: [&str; 2] = ["email", "in_app"];

/// Queues `notice` for each recipient on every channel. `occurrence` tells one happening of
/// the notice from another (for example the time of a status change), so that a retried
/// transaction does not queue it twice while a later, separate happening is still told.
pub async fn notify(
    conn: &mut Conn,
    notice: &Notice,
    occurrence: &str,
    recipients: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let event = notice.kind();
    let thread = notice.thread();
    let payload = &notice
        .payload()
        .map_err(|error| Error::SerializationError(Box::new(error)))?;
    for recipient in recipients {
        let channels: &[&str] = if Notice::account_kind(event) {
            &CHANNELS[..1]
        } else {
            &CHANNELS
        };
        for &channel in channels {
            let dedupe_key = format!("{event}:{occurrence}:{recipient}:{channel}");
            let in_app = channel == "in_app";
            enqueue(
                conn,
                &NewOutboxRow {
                    id: Uuid::now_v7(),
                    dedupe_key: &dedupe_key,
                    event,
                    recipient_user_id: *recipient,
                    channel,
                    payload,
                    status: OutboxStatus::initial(in_app).as_str(),
                    next_attempt_at: now,
                    created_at: now,
                    delivered_at: in_app.then_some(now),
                    thread: thread.as_deref(),
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Queues `notice` as mail to `address`, which has no account yet (an invitation): the row
/// names `cause` (the user who made it happen) as its recipient user, whose language the mail
/// is written in, and goes to `address`. Mail only: there is no feed to show it in.
pub async fn notify_address(
    conn: &mut Conn,
    notice: &Notice,
    occurrence: &str,
    cause: Uuid,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let event = notice.kind();
    let payload = &notice
        .payload()
        .map_err(|error| Error::SerializationError(Box::new(error)))?;
    let dedupe_key = format!("{event}:{occurrence}:{address}:email");
    enqueue_to_address(
        conn,
        &NewOutboxRow {
            id: Uuid::now_v7(),
            dedupe_key: &dedupe_key,
            event,
            recipient_user_id: cause,
            channel: "email",
            payload,
            status: OutboxStatus::initial(false).as_str(),
            next_attempt_at: now,
            created_at: now,
            delivered_at: None,
            thread: None,
        },
        address,
    )
    .await?;
    Ok(())
}

/// The users of an organisation: who hears of what happens to it.
pub async fn members(conn: &mut Conn, organisation_id: Uuid) -> Result<Vec<Uuid>, Error> {
    Ok(members_of(conn, organisation_id)
        .await?
        .into_iter()
        .map(|user| user.id)
        .collect())
}

/// What the members of `organisations` hear of `notice`: the rows [`notify`] would write for
/// them, as one statement that finds the members itself (see [`notify_members`]).
pub fn for_members(
    notice: &Notice,
    occurrence: String,
    organisations: Vec<Uuid>,
) -> Result<MembersNotice<'static>, Error> {
    Ok(MembersNotice {
        event: notice.kind(),
        occurrence,
        organisations,
        payload: notice
            .payload()
            .map_err(|error| Error::SerializationError(Box::new(error)))?,
    })
}

/// Queues `notice` for every member of its organisations on every channel, in one statement:
/// the same rows as [`notify`] writes for those members, without looking them up first.
pub async fn notify_members(
    conn: &mut Conn,
    notice: &MembersNotice<'_>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    crate::db::outbox::notify_members(conn, notice, now).await
}
