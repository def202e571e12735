//! Delivering the outbox's mail: rendering each notification from its template in the
//! recipient's language, sending it over SMTP, retrying with exponential backoff, holding what
//! belongs in a daily digest, and composing the digests.
//!
//! Instant mail about one thread (a wish's matches to its demander, a lot's to its donor) is
//! capped: past [`InstantCap::mails`] within [`InstantCap::window`] the rest waits for the
//! recipient's next daily digest, so a broad wish cannot flood an inbox. The app's feed has
//! every notification at once either way.

use crate::app::error::{AppError, AppResult};

use crate::app::notices::{DigestItem, DigestNews, Notice};
use crate::app::Ctx;
use crate::db::outbox::{self as q, MailRow, NewOutboxRow};
use crate::db::Atomic;
use crate::domain::outbox::OutboxStatus;
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::Environment;
use sha2::{Digest as _, Sha256};
use std::sync::OnceLock;
use uuid::Uuid;

/// How delivery behaves, from the settings.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// After this many failed attempts a mail is left `failed` for a broker to retry.
    pub max_attempts: i32,
    /// The wait after the first failure; it doubles with each further one.
    pub backoff_base: Duration,
    /// The wait never grows beyond this.
    pub backoff_max: Duration,
    /// A send that takes longer has failed.
    pub send_timeout: std::time::Duration,
    /// Digests go out at or after this hour (UTC).
    pub digest_hour: u32,
    pub instant_cap: InstantCap,
}

/// The most instant mails one person gets about one thread (a wish, for its demander; a lot,
/// for its donor) within a window; what comes after waits for the next daily digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstantCap {
    pub mails: i64,
    pub window: Duration,
}

impl InstantCap {
    /// The window the cap counts in.
    pub const WINDOW_HOURS: i64 = 24;

    pub fn new(mails: i64) -> InstantCap {
        InstantCap {
            mails: mails.max(1),
            window: Duration::hours(Self::WINDOW_HOURS),
        }
    }
}

/// The SMTP connection settings and the sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `url` as lettre reads it: `smtp://host:port` (plain), `smtp://host?tls=required`
    /// (STARTTLS) or `smtps://host` (TLS), with optional `user:password@`.
    pub fn new(url: &str, from: &str, timeout: std::time::Duration) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(timeout))
            .build();
        Ok(Mailer {
            transport,
            from: from.parse()?,
        })
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// The footer under every mail, by language.
const FOOTERS: [(&str, &str); 2] = [
    (
        "_footer.nl",
        include_str!("../../../templates/mail/_footer.nl.txt"),
    ),
    (
        "_footer.en",
        include_str!("../../../templates/mail/_footer.en.txt"),
    ),
];

/// Every kind's templates (`<kind>.nl`, `<kind>.en`) and the footers.
fn templates() -> impl Iterator<Item = (String, &'static str)> {
    Notice::TEMPLATES
        .iter()
        .flat_map(|(kind, nl, en)| [(format!("{kind}.nl"), *nl), (format!("{kind}.en"), *en)])
        .chain(FOOTERS.map(|(name, source)| (name.to_owned(), source)))
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in templates() {
            // The templates are part of the build and checked by a unit test.
            if let Err(error) = env.add_template_owned(name.clone(), source) {
                tracing::error!(%error, name, "a mail template does not parse");
            }
        }
        env
    })
}

/// A mail's subject and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// Renders the template of `event` (a kind of [`Notice`]) in `locale` (`nl` or `en`); the
/// first line is the subject. A kind outside the catalogue is an error, not a generic mail.
pub fn render(
    event: &str,
    locale: &str,
    name: &str,
    payload: &serde_json::Value,
    public_url: &str,
) -> Result<Rendered, minijinja::Error> {
    render_in(
        environment(),
        event,
        locale,
        name,
        payload,
        public_url,
        None,
    )
}

/// As [`render`]; `last_of` is the cap when this is the last instant mail of its thread for
/// now, which its footer then says.
fn render_in(
    env: &Environment<'_>,
    event: &str,
    locale: &str,
    name: &str,
    payload: &serde_json::Value,
    public_url: &str,
    last_of: Option<i64>,
) -> Result<Rendered, minijinja::Error> {
    if !Notice::KINDS.contains(&event) {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::TemplateNotFound,
            format!("no notification of kind {event:?} is known"),
        ));
    }
    let locale = if locale == "en" { "en" } else { "nl" };
    let template = env.get_template(&format!("{event}.{locale}"))?;
    let context = minijinja::context! {
        event => event,
        name => name,
        p => payload,
        public_url => public_url,
        settings_url => format!("{public_url}/workspace/account#settings"),
        last_of => last_of,
        window_hours => InstantCap::WINDOW_HOURS,
    };
    let text = template.render(&context)?;
    let footer = env
        .get_template(&format!("_footer.{locale}"))?
        .render(&context)?;
    let (subject, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    Ok(Rendered {
        subject: subject.trim().to_owned(),
        body: format!("{}\n{footer}", body.trim_start_matches('\n')),
    })
}

/// Whether `now` lies in the quiet hours `start..end` (UTC; the window may pass midnight),
/// and if so when they end.
pub fn quiet_until(
    now: DateTime<Utc>,
    start: Option<i16>,
    end: Option<i16>,
) -> Option<DateTime<Utc>> {
    let (start, end) = (u32::try_from(start?).ok()?, u32::try_from(end?).ok()?);
    let hour = now.hour();
    let quiet = if start <= end {
        (start..end).contains(&hour)
    } else {
        hour >= start || hour < end
    };
    if !quiet {
        return None;
    }
    let today_end = now.date_naive().and_hms_opt(end, 0, 0)?.and_utc();
    Some(if today_end > now {
        today_end
    } else {
        today_end + Duration::days(1)
    })
}

/// The wait before attempt `attempts + 1` after `attempts` failures.
pub fn backoff(policy: &DeliveryPolicy, attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    (policy.backoff_base * 2_i32.pow(doublings)).min(policy.backoff_max)
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    pub held_for_digest: usize,
    pub skipped: usize,
    pub put_off: usize,
    /// Held for the digest because their thread reached its cap of instant mail.
    pub capped: usize,
}

/// Delivers the mail that is due, in batches, until none is left. Without a mailer nothing
/// is claimed: mail waits until SMTP is configured.
pub async fn deliver_due(ctx: &Ctx) -> AppResult<Delivered> {
    let mut total = Delivered::default();
    let Some(mailer) = ctx.mailer.as_ref() else {
        return Ok(total);
    };
    let mut conn = ctx.conn().await?;
    loop {
        let now = ctx.now();
        let round = conn
            .transaction::<_, AppError, _>(async move |conn| {
                let mut round = Delivered::default();
                let rows = q::claim_due_mail(conn, now, 20).await?;
                lock_threads(conn, &rows).await?;
                let cap = ctx.delivery.instant_cap;
                for row in &rows {
                    // Account mail (a reset link) goes out whatever the mail settings say.
                    let account = Notice::account_kind(&row.event);
                    let held = Notice::digestible_kind(&row.event)
                        && (row.digest == "daily" || row.payload["digest"] == true);
                    if !Notice::KINDS.contains(&row.event.as_str()) {
                        // Retrying cannot help: this build has no template for the kind.
                        tracing::error!(id = %row.id, event = %row.event, "unknown kind of mail");
                        let error = format!("unknown notification kind {:?}", row.event);
                        q::set_attempt_failed(conn, row.id, OutboxStatus::Failed, now, &error).await?;
                        round.failed += 1;
                    } else if !row.email_notifications && !account {
                        q::set_state(conn, row.id, OutboxStatus::Skipped, now).await?;
                        round.skipped += 1;
                    } else if held {
                        q::set_state(conn, row.id, OutboxStatus::Digest, now).await?;
                        round.held_for_digest += 1;
                    } else if let Some(until) = quiet_until(now, row.quiet_start_hour, row.quiet_end_hour)
                        .filter(|_| !account)
                    {
                        q::set_state(conn, row.id, OutboxStatus::Pending, until).await?;
                        round.put_off += 1;
                    } else {
                        let sent_before = match &row.thread {
                            Some(thread) => {
                                q::instant_mails_since(conn, row.user_id, thread, now - cap.window)
                                    .await?
                            }
                            None => 0,
                        };
                        if sent_before >= cap.mails {
                            q::set_state(conn, row.id, OutboxStatus::Digest, now).await?;
                            round.capped += 1;
                            continue;
                        }
                        let last_of = (row.thread.is_some() && sent_before + 1 == cap.mails)
                            .then_some(cap.mails);
                        match send(ctx, mailer, row, last_of).await {
                            Ok(()) => {
                                q::set_delivered(conn, row.id, now).await?;
                                round.sent += 1;
                            }
                            Err(error) => {
                                let attempts = row.attempts + 1;
                                let (status, next) = if attempts >= ctx.delivery.max_attempts {
                                    round.failed += 1;
                                    (OutboxStatus::Failed, now)
                                } else {
                                    round.retrying += 1;
                                    (OutboxStatus::Pending, now + backoff(&ctx.delivery, attempts))
                                };
                                tracing::warn!(id = %row.id, attempts, %error, "mail not delivered");
                                q::set_attempt_failed(conn, row.id, status, next, &error).await?;
                            }
                        }
                    }
                }
                Ok((round, rows.len()))
            })
            .await;
        let (round, claimed) = round?;
        total.sent += round.sent;
        total.retrying += round.retrying;
        total.failed += round.failed;
        total.held_for_digest += round.held_for_digest;
        total.skipped += round.skipped;
        total.put_off += round.put_off;
        total.capped += round.capped;
        if claimed < 20 {
            return Ok(total);
        }
    }
}

/// Locks each (recipient, thread) of a round's capped mail, in one order for every instance,
/// so that two instances sending at once count each other's mail.
async fn lock_threads(conn: &mut crate::db::Conn, rows: &[MailRow]) -> AppResult<()> {
    let mut keys: Vec<i64> = rows
        .iter()
        .filter_map(|row| {
            let thread = row.thread.as_ref()?;
            let digest = Sha256::digest(format!("mail-thread:{}:{thread}", row.user_id));
            let mut key = [0; 8];
            key.copy_from_slice(&digest[..8]);
            Some(i64::from_be_bytes(key))
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        q::lock_thread(conn, key).await?;
    }
    Ok(())
}

async fn send(
    ctx: &Ctx,
    mailer: &Mailer,
    row: &MailRow,
    last_of: Option<i64>,
) -> Result<(), String> {
    let rendered = render_in(
        environment(),
        &row.event,
        &row.locale,
        &row.display_name,
        &row.payload,
        &ctx.public_url,
        last_of,
    )
    .map_err(|e| format!("template: {e}"))?;
    let to: Mailbox = row
        .email
        .parse()
        .map_err(|e| format!("recipient address: {e}"))?;
    let message = Message::builder()
        .from(mailer.from.clone())
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(format!("<{}@kringloop>", row.id)))
        .header(ContentType::TEXT_PLAIN)
        .body(rendered.body)
        .map_err(|e| format!("message: {e}"))?;
    match tokio::time::timeout(ctx.delivery.send_timeout, mailer.transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(format!("smtp: {error}")),
        Err(_) => Err(format!(
            "smtp: no answer within {} s",
            ctx.delivery.send_timeout.as_secs()
        )),
    }
}

/// Gathers the mail held for each user's digest into one mail a day, once the digest hour
/// has come. Safe in several instances: the user row is locked and the day recorded.
pub async fn compose_digests(ctx: &Ctx) -> AppResult<usize> {
    let now = ctx.now();
    if now.hour() < ctx.delivery.digest_hour {
        return Ok(0);
    }
    let today = now.date_naive();
    let mut conn = ctx.conn().await?;
    let mut composed = 0;
    for user_id in q::digest_recipients(&mut conn, today).await? {
        let done = conn
            .transaction::<_, AppError, _>(async move |conn| {
                if !q::lock_for_digest(conn, user_id, today).await? {
                    return Ok(false);
                }
                let held = q::held_for_digest(conn, user_id).await?;
                if held.is_empty() {
                    return Ok(false);
                }
                let digest = Notice::Digest(DigestNews {
                    day: today,
                    items: held
                        .iter()
                        .map(|row| DigestItem {
                            event: row.event.clone(),
                            payload: row.payload.clone(),
                        })
                        .collect(),
                });
                let payload = digest
                    .payload()
                    .map_err(|error| AppError::Internal(error.into()))?;
                q::enqueue(
                    conn,
                    &NewOutboxRow {
                        id: Uuid::now_v7(),
                        dedupe_key: &digest_key(user_id, today),
                        event: digest.kind(),
                        recipient_user_id: user_id,
                        channel: "email",
                        payload: &payload,
                        status: OutboxStatus::Pending.as_str(),
                        next_attempt_at: now,
                        created_at: now,
                        delivered_at: None,
                        thread: None,
                    },
                )
                .await?;
                let ids: Vec<Uuid> = held.iter().map(|row| row.id).collect();
                q::mark_digested(conn, &ids, now).await?;
                q::set_last_digest(conn, user_id, today).await?;
                Ok(true)
            })
            .await?;
        composed += usize::from(done);
    }
    Ok(composed)
}

fn digest_key(user_id: Uuid, day: NaiveDate) -> String {
    format!("digest:{day}:{user_id}:email")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The templates as production builds them, but refusing any name the payload does not
    /// have, so that a template that misspells a field fails here rather than mailing a gap.
    fn strict() -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, source) in templates() {
            env.add_template_owned(name.clone(), source)
                .unwrap_or_else(|error| panic!("{name}: {error}"));
        }
        env
    }

    #[test]
    fn every_kind_renders_in_both_languages_with_a_link_to_its_page() {
        let env = strict();
        for notice in Notice::samples() {
            let payload = notice.payload().unwrap();
            for locale in ["nl", "en"] {
                let name = format!("{}.{locale}", notice.kind());
                let rendered = render_in(
                    &env,
                    notice.kind(),
                    locale,
                    "Ada",
                    &payload,
                    "https://k.test",
                    Some(5),
                )
                .unwrap_or_else(|error| panic!("{name}: {error:#}"));
                assert!(!rendered.subject.is_empty(), "{name}");
                assert!(!rendered.subject.contains("{{"), "{name}");
                assert!(
                    rendered
                        .body
                        .contains("https://k.test/workspace/account#settings"),
                    "{name}"
                );
                let (text, _footer) = rendered.body.split_once("\n--\n").unwrap();
                // Every mail leads to the page of what it is about, not to the JSON API.
                assert!(
                    text.contains("https://k.test/workspace")
                        || text.contains("https://k.test/lots/")
                        || text.contains("https://k.test/reset?token=")
                        || text.contains("https://k.test/verify-email?token=")
                        || text.contains("https://k.test/invitation?token="),
                    "{name} links to no page"
                );
                assert!(!text.contains("/api/v1/"), "{name} links to the API");
            }
        }
    }

    #[test]
    fn a_digest_names_each_item_and_links_to_its_wish() {
        let payload = serde_json::json!({
            "title": "Binnendeuren", "wish_id": Uuid::nil(), "listing_id": Uuid::nil(),
            "expected_on": "2026-12-28", "pickups": 3,
        });
        let digest = Notice::Digest(DigestNews {
            day: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            items: ["match_predicted", "bundle_proposed", "listing_matched"]
                .map(|event| DigestItem {
                    event: event.to_owned(),
                    payload: payload.clone(),
                })
                .to_vec(),
        });
        let en = render(
            "digest",
            "en",
            "Ada",
            &digest.payload().unwrap(),
            "https://k.test",
        )
        .unwrap();
        assert_eq!(en.subject, "Your kringloop digest: 3 notifications");
        assert!(
            en.body.contains("expected on 2026-12-28: Binnendeuren"),
            "{}",
            en.body
        );
        assert!(
            en.body.contains("a bundle of 3 lots covers your wish"),
            "{}",
            en.body
        );
        assert!(
            en.body
                .contains(&format!("https://k.test/workspace/wishes/{}", Uuid::nil())),
            "{}",
            en.body
        );
    }

    #[test]
    fn predicted_mail_names_the_date_in_the_recipients_language() {
        let payload = serde_json::json!({"title": "Deuren", "expected_on": "2026-12-28",
            "wish_id": Uuid::nil(), "listing_id": Uuid::nil(), "score": 700, "reasons": []});
        let nl = render("match_predicted", "nl", "Ada", &payload, "https://k.test").unwrap();
        assert_eq!(nl.subject, "Verwacht beschikbaar op 2026-12-28: Deuren");
        let en = render("match_predicted", "en", "Ada", &payload, "https://k.test").unwrap();
        assert_eq!(en.subject, "Expected available on 2026-12-28: Deuren");
    }

    #[test]
    fn a_kind_outside_the_catalogue_is_an_error_not_a_generic_mail() {
        let payload = serde_json::json!({"title": "Deuren"});
        let unknown = render("ledger_thing", "en", "Ada", &payload, "https://k.test");
        assert!(unknown.is_err(), "{unknown:?}");
    }

    #[test]
    fn quiet_hours_put_mail_off_until_they_end() {
        let at = |h| Utc.with_ymd_and_hms(2026, 11, 28, h, 30, 0).unwrap();
        assert_eq!(quiet_until(at(12), None, None), None);
        assert_eq!(quiet_until(at(12), Some(22), Some(7)), None);
        assert_eq!(
            quiet_until(at(23), Some(22), Some(7)),
            Some(Utc.with_ymd_and_hms(2026, 11, 29, 7, 0, 0).unwrap())
        );
        assert_eq!(
            quiet_until(at(3), Some(22), Some(7)),
            Some(Utc.with_ymd_and_hms(2026, 11, 28, 7, 0, 0).unwrap())
        );
        assert_eq!(
            quiet_until(at(9), Some(9), Some(17)),
            Some(Utc.with_ymd_and_hms(2026, 11, 28, 17, 0, 0).unwrap())
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let policy = DeliveryPolicy {
            max_attempts: 8,
            backoff_base: Duration::seconds(30),
            backoff_max: Duration::hours(1),
            send_timeout: std::time::Duration::from_secs(10),
            digest_hour: 7,
            instant_cap: InstantCap::new(5),
        };
        assert_eq!(backoff(&policy, 1), Duration::seconds(30));
        assert_eq!(backoff(&policy, 2), Duration::seconds(60));
        assert_eq!(backoff(&policy, 4), Duration::seconds(240));
        assert_eq!(backoff(&policy, 30), Duration::hours(1));
    }
}
