//! Two instances on one database, wishes made through one and lots through the other, all at
//! once: every pair that fits ends matched, no match is retracted without a cause in the
//! database, and nobody is told anything twice.

use crate::support::*;
use secrecy::SecretString;
use serde_json::Value;

/// Lots on offer before the rush: they make each wish's first matching take a while, the
/// window in which another instance's new lot used to be retracted again.
const STANDING: usize = 12;
const WISHES: usize = 12;
const LOTS: usize = 12;

/// Waits until no matcher job is queued (a job is deleted in the transaction that works it,
/// so none left means every one worked and committed).
async fn settle(app: &TestApp) {
    for _ in 0..600 {
        if app
            .sql_count("SELECT count(*) AS count FROM match_jobs")
            .await
            == 0
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the matchers did not work off their queue within a minute");
}

async fn sql(app: &TestApp, statements: &str) {
    use diesel_async::{AsyncConnection, SimpleAsyncConnection};
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url)
        .await
        .unwrap();
    conn.batch_execute(statements).await.unwrap();
}

#[actix_web::test]
async fn wishes_and_lots_made_at_once_through_two_instances_all_match_and_none_is_retracted() {
    let one = TestApp::spawn().await;
    let two = one.spawn_beside(test_settings()).await;
    let broker = one.broker().await;
    let mut makers = Vec::new();
    let mut donors = Vec::new();
    for i in 0..4 {
        makers.push(verified(&one, &broker, &format!("maker{i}@ms.test"), "makerspace").await);
        donors.push(verified(&two, &broker, &format!("donor{i}@sloop.test"), "contractor").await);
    }
    for i in 0..STANDING {
        let donor = &donors[i % donors.len()];
        ListingBuilder::doors().create(&two, donor).await;
    }
    let mut passports = Vec::new();
    for i in 0..LOTS {
        let donor = &donors[i % donors.len()];
        passports.push((i, PassportBuilder::doors().create(&two, donor).await));
    }
    let wish = WishBuilder::doors().json(&one).await;
    // Storing a match takes a while, as under load: a job that stores several spends long
    // between reading its index and reading the stored matches, and so does the other one.
    sql(
        &one,
        "CREATE FUNCTION slow_match() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END; $$; \
         CREATE TRIGGER slow_match BEFORE INSERT ON matches \
         FOR EACH ROW EXECUTE FUNCTION slow_match();",
    )
    .await;
    // Both instances also work the queue in the background, as `serve` does.
    let workers = [&one, &two].map(|app| {
        tokio::spawn(kringloop::jobs::matcher::run_forever(
            app.ctx.clone(),
            SecretString::from(app.db_url.clone()),
            std::time::Duration::from_millis(100),
        ))
    });

    let wishes = (0..WISHES).map(|i| {
        let maker = &makers[i % makers.len()];
        let body = wish.clone();
        let one = &one;
        async move { one.post("/api/v1/wishes", Some(&maker.token), &body).await }
    });
    let lots = passports.iter().map(|(i, passport)| {
        let donor = &donors[i % donors.len()];
        let body = ListingBuilder::of(passport).quantity(8).json();
        let two = &two;
        async move {
            two.post("/api/v1/listings", Some(&donor.token), &body)
                .await
        }
    });
    let (wishes, lots) = futures_util::future::join(
        futures_util::future::join_all(wishes),
        futures_util::future::join_all(lots),
    )
    .await;
    for made in wishes.iter().chain(&lots) {
        assert_eq!(made.status, 201, "{}", made.body);
    }
    settle(&one).await;
    for worker in workers {
        worker.abort();
    }

    // Nothing changed after it was made: no match may have gone away.
    let retracted = one
        .sql_count("SELECT count(*) AS count FROM matches WHERE status = 'retracted'")
        .await;
    let told = one
        .sql_count("SELECT count(*) AS count FROM outbox WHERE event = 'match_retracted'")
        .await;
    assert_eq!(
        (retracted, told),
        (0, 0),
        "matches retracted without a cause"
    );
    // Every wish fits every lot: each pair is one open match.
    assert_eq!(
        one.sql_count("SELECT count(*) AS count FROM matches WHERE status = 'open'")
            .await,
        (WISHES * (STANDING + LOTS)) as i64
    );
    for made in &wishes {
        let id = made.body["id"].as_str().unwrap();
        let maker = makers
            .iter()
            .find(|m| m.org == made.body["organisation_id"].as_str().unwrap())
            .unwrap();
        let found = matches_of(&one, maker, &made.body).await;
        let listed: Vec<&Value> = found["items"].as_array().unwrap().iter().collect();
        assert_eq!(listed.len(), STANDING + LOTS, "wish {id}: {found}");
    }
    // Each match is told once to each member on each channel.
    let twice = one
        .sql_count(
            "SELECT count(*) AS count FROM (SELECT 1 FROM outbox \
             GROUP BY event, coalesce(payload->>'match_id', payload->>'bundle_id', id::text), \
                      recipient_user_id, channel \
             HAVING count(*) > 1) AS twice",
        )
        .await;
    assert_eq!(
        twice, 0,
        "a notice was queued twice for one subject and recipient"
    );
    assert_eq!(
        one.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE event = 'match_new' AND channel = 'email'"
        )
        .await,
        (WISHES * (STANDING + LOTS)) as i64
    );
}

/// A gate in the database: while the test holds it closed, storing a match of one wish (or one
/// lot) waits, so that a test can let another instance act at that very moment.
struct Gate {
    holder: diesel_async::AsyncPgConnection,
}

const GATE_KEY: i64 = 4_242;

impl Gate {
    /// Closes the gate on matches whose `column` (`wish_id` or `listing_id`) is `id`.
    async fn close(app: &TestApp, column: &str, id: &str) -> Gate {
        use diesel_async::{AsyncConnection, SimpleAsyncConnection};
        sql(
            app,
            &format!(
                "CREATE FUNCTION gate() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN PERFORM pg_advisory_lock_shared({GATE_KEY}); \
                 PERFORM pg_advisory_unlock_shared({GATE_KEY}); RETURN NEW; END; $$; \
                 CREATE TRIGGER gate BEFORE INSERT ON matches FOR EACH ROW \
                 WHEN (NEW.{column} = '{id}') EXECUTE FUNCTION gate();"
            ),
        )
        .await;
        let mut holder = diesel_async::AsyncPgConnection::establish(&app.db_url)
            .await
            .unwrap();
        holder
            .batch_execute(&format!("SELECT pg_advisory_lock({GATE_KEY})"))
            .await
            .unwrap();
        Gate { holder }
    }

    /// Waits until a transaction stands at the gate.
    async fn until_someone_waits(&self, app: &TestApp) {
        for _ in 0..300 {
            let waiting = app.sql_count(&waiting_on("'advisory'")).await;
            if waiting > 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("nobody came to the gate");
    }

    async fn open(mut self) {
        use diesel_async::SimpleAsyncConnection;
        self.holder
            .batch_execute(&format!("SELECT pg_advisory_unlock({GATE_KEY})"))
            .await
            .unwrap();
    }
}

/// How many of this database's sessions wait for a lock of one of `kinds`.
fn waiting_on(kinds: &str) -> String {
    format!(
        "SELECT count(*) AS count FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND wait_event IN ({kinds})"
    )
}

/// Every match is open, none was retracted and nobody was told of a retraction.
async fn assert_all_open(app: &TestApp, expected: i64) {
    let by_status = app
        .sql_count("SELECT count(*) AS count FROM matches WHERE status = 'open'")
        .await;
    let retracted = app
        .sql_count("SELECT count(*) AS count FROM matches WHERE status = 'retracted'")
        .await;
    let told = app
        .sql_count("SELECT count(*) AS count FROM outbox WHERE event = 'match_retracted'")
        .await;
    assert_eq!(
        (by_status, retracted, told),
        (expected, 0, 0),
        "(open, retracted, retractions told)"
    );
}

#[actix_web::test]
async fn a_lots_job_leaves_alone_the_match_another_instance_made_for_a_newer_wish() {
    let one = TestApp::spawn().await;
    let two = one.spawn_beside(test_settings()).await;
    let market = Market::open(&one).await;
    let first = WishBuilder::doors().create(&one, &market.maker).await;
    let passport = PassportBuilder::doors().create(&two, &market.donor).await;
    // Instance two works the new lot: it reads its index (the first wish only) and stops at
    // the gate while storing that pair. Meanwhile a second wish is made through instance one,
    // which matches it with the lot and commits.
    let gate = Gate::close(&one, "wish_id", first["id"].as_str().unwrap()).await;
    let body = ListingBuilder::of(&passport).json();
    let lot = two.post("/api/v1/listings", Some(&market.donor.token), &body);
    let meanwhile = async {
        gate.until_someone_waits(&one).await;
        let second = WishBuilder::doors().create(&one, &market.maker).await;
        gate.open().await;
        second
    };
    let (lot, second) = futures_util::future::join(lot, meanwhile).await;
    assert_eq!(lot.status, 201, "{}", lot.body);

    // Neither side changed: both matches stand, and the second wish's owner was told of a
    // match, not that it went away.
    assert_all_open(&one, 2).await;
    for wish in [&first, &second] {
        let found = matches_of(&one, &market.maker, wish).await;
        assert_eq!(found["items"][0]["listing_id"], lot.body["id"], "{found}");
    }
}

#[actix_web::test]
async fn a_wishs_job_leaves_alone_the_match_another_instance_made_for_a_newer_lot() {
    let one = TestApp::spawn().await;
    let two = one.spawn_beside(test_settings()).await;
    let market = Market::open(&one).await;
    let first = ListingBuilder::doors().create(&one, &market.donor).await;
    let passport = PassportBuilder::doors().create(&two, &market.donor).await;
    // Instance one works a new wish: it reads its index (the first lot only) and stops at the
    // gate while storing that pair. Meanwhile a second lot is listed through instance two,
    // which matches it with the wish and commits.
    let gate = Gate::close(&one, "listing_id", first["id"].as_str().unwrap()).await;
    let body = WishBuilder::doors().json(&one).await;
    let wish = one.post("/api/v1/wishes", Some(&market.maker.token), &body);
    let meanwhile = async {
        gate.until_someone_waits(&one).await;
        let second = two
            .post(
                "/api/v1/listings",
                Some(&market.donor.token),
                &ListingBuilder::of(&passport).json(),
            )
            .await;
        assert_eq!(second.status, 201, "{}", second.body);
        gate.open().await;
    };
    let (wish, ()) = futures_util::future::join(wish, meanwhile).await;
    assert_eq!(wish.status, 201, "{}", wish.body);

    assert_all_open(&one, 2).await;
    let found = matches_of(&one, &market.maker, &wish.body).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 2, "{found}");
}

#[actix_web::test]
async fn a_wish_changed_while_another_instance_matches_it_ends_unmatched() {
    let one = TestApp::spawn().await;
    let two = one.spawn_beside(test_settings()).await;
    let market = Market::open(&one).await;
    let wish = WishBuilder::doors().create(&one, &market.maker).await;
    let passport = PassportBuilder::doors().create(&two, &market.donor).await;
    // Instance two works a new lot and stops at the gate while storing its pair with the wish;
    // meanwhile the makerspace narrows the wish through instance one so that the lot no longer
    // fits. Whichever way the two meet, the lot must not end matched with the changed wish.
    let gate = Gate::close(&one, "wish_id", wish["id"].as_str().unwrap()).await;
    let body = ListingBuilder::of(&passport).json();
    let lot = two.post("/api/v1/listings", Some(&market.donor.token), &body);
    let meanwhile = async {
        gate.until_someone_waits(&one).await;
        let change = one
            .client
            .patch(one.url(&format!("/api/v1/wishes/{}", wish["id"].as_str().unwrap())));
        let change = change
            .bearer_auth(&market.maker.token)
            .header("If-Match", "\"1\"")
            .json(&serde_json::json!({"keywords": ["tegel"]}))
            .send();
        let changed = tokio::spawn(change);
        // The change either went through at once or waits for the job at the gate.
        for _ in 0..300 {
            let blocked = one.sql_count(&waiting_on("'transactionid', 'tuple'")).await;
            if changed.is_finished() || blocked > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        gate.open().await;
        changed.await.unwrap().unwrap().status().as_u16()
    };
    let (lot, changed) = futures_util::future::join(lot, meanwhile).await;
    assert_eq!((lot.status, changed), (201, 200), "{}", lot.body);

    let open = one
        .sql_count("SELECT count(*) AS count FROM matches WHERE status = 'open'")
        .await;
    assert_eq!(
        open, 0,
        "the lot stayed matched with a wish it no longer fits"
    );
    assert_eq!(
        one.sql_count("SELECT count(*) AS count FROM outbox WHERE event = 'match_retracted'")
            .await,
        0,
        "the makerspace is not told of what it did itself"
    );
}
