//! Members and roles, profile edits and e-mail verification: an owner invites by e-mail (a
//! link that works once and expires), removes members (signed out at once) and passes
//! ownership on; members cannot do what owners do; another organisation cannot touch yours;
//! the broker verifies an organisation only once its owner confirmed their address.

use crate::support::*;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";
const INVITEE: &str = "kim@sloop.test";

/// `owner` invites `email` as `role`; the invitation as answered.
async fn invite(app: &TestApp, owner: &Member, email: &str, role: &str) -> Value {
    let invited = app
        .post(
            "/api/v1/organisations/me/invitations",
            Some(&owner.token),
            &json!({"email": email, "role": role}),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    invited.body
}

async fn accept(app: &TestApp, token: &str, name: &str) -> Response {
    app.post(
        "/api/v1/auth/invitations/accept",
        None,
        &json!({"token": token, "display_name": name, "password": PASSWORD, "locale": "en"}),
    )
    .await
}

/// `email` joins `owner`'s organisation as `role` by the link mailed to it; signed in.
async fn join(app: &TestApp, owner: &Member, email: &str, role: &str) -> (Member, String) {
    invite(app, owner, email, role).await;
    let token = last_token(app, "invitation", email).await;
    let joined = accept(app, &token, "Kim Jansen").await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    let user_id = joined.body["user"]["id"].as_str().unwrap().to_owned();
    let member = Member {
        email: email.to_owned(),
        token: app.token(email).await,
        org: owner.org.clone(),
    };
    (member, user_id)
}

async fn user_id(app: &TestApp, who: &Member) -> String {
    app.get("/api/v1/me", Some(&who.token)).await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn the_broker_verifies_an_organisation_only_once_its_owner_confirmed_the_address() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let owner = unverified(&app, "sanne@sloop.test", "contractor").await;
    let me = app.get("/api/v1/me", Some(&owner.token)).await;
    assert_eq!(me.body["user"]["email_verified"], false);
    // The link is mailed only (a secret: never in the feed).
    assert_eq!(
        mailed_tokens(&app, "email_verification", &owner.email)
            .await
            .len(),
        1
    );
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE event = 'email_verification' \
             AND channel = 'in_app'"
        )
        .await,
        0
    );

    let refused = app
        .post(
            &format!("/api/v1/admin/organisations/{}/verify", owner.org),
            Some(&broker),
            &json!({}),
        )
        .await;
    refused.assert_problem(409, "email-not-verified");
    assert_eq!(
        app.get("/api/v1/me", Some(&owner.token)).await.body["organisation"]["status"],
        "unverified"
    );

    let token = last_token(&app, "email_verification", &owner.email).await;
    let confirmed = app
        .post("/api/v1/auth/email/verify", None, &json!({"token": token}))
        .await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.body);
    let again = app
        .post("/api/v1/auth/email/verify", None, &json!({"token": token}))
        .await;
    again.assert_problem(422, "validation");
    assert_eq!(again.body["errors"][0]["code"], "invalid_verification_link");
    let me = app.get("/api/v1/me", Some(&owner.token)).await;
    assert_eq!(me.body["user"]["email_verified"], true);
    app.post(
        "/api/v1/auth/email/verification",
        Some(&owner.token),
        &json!({}),
    )
    .await
    .assert_problem(409, "email-already-verified");

    let verified = app
        .post(
            &format!("/api/v1/admin/organisations/{}/verify", owner.org),
            Some(&broker),
            &json!({}),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
}

#[actix_web::test]
async fn a_verification_link_expires_and_a_new_one_can_be_asked_for_a_few_times_an_hour() {
    let app = TestApp::spawn().await;
    let owner = unverified(&app, "sanne@sloop.test", "contractor").await;
    let first = last_token(&app, "email_verification", &owner.email).await;
    app.clock.advance(chrono::Duration::hours(49));
    let expired = app
        .post("/api/v1/auth/email/verify", None, &json!({"token": first}))
        .await;
    expired.assert_problem(422, "validation");

    let mut owner = owner;
    owner.login(&app).await;
    for _ in 0..3 {
        let asked = app
            .post(
                "/api/v1/auth/email/verification",
                Some(&owner.token),
                &json!({}),
            )
            .await;
        assert_eq!(asked.status, 202, "{}", asked.body);
    }
    let too_many = app
        .post(
            "/api/v1/auth/email/verification",
            Some(&owner.token),
            &json!({}),
        )
        .await;
    too_many.assert_problem(429, "rate-limited");
    assert!(too_many.headers.contains_key("retry-after"));
    let newest = last_token(&app, "email_verification", &owner.email).await;
    let confirmed = app
        .post("/api/v1/auth/email/verify", None, &json!({"token": newest}))
        .await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.body);
    app.post(
        "/api/v1/auth/email/verify",
        None,
        &json!({"token": "made-up"}),
    )
    .await
    .assert_problem(422, "validation");
}

#[actix_web::test]
async fn an_owner_invites_by_mail_and_the_link_works_once() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    let invitation = invite(&app, donor, INVITEE, "member").await;
    assert_eq!(invitation["email"], INVITEE);
    assert_eq!(invitation["role"], "member");
    // The mail goes to the invited address, which has no account.
    assert_eq!(
        app.sql_count(&format!(
            "SELECT count(*) AS count FROM outbox WHERE event = 'invitation' \
             AND recipient_email = '{INVITEE}' AND channel = 'email'"
        ))
        .await,
        1
    );
    let open = app
        .get("/api/v1/organisations/me/invitations", Some(&donor.token))
        .await;
    assert_eq!(open.body.as_array().unwrap().len(), 1);

    let token = last_token(&app, "invitation", INVITEE).await;
    let joined = accept(&app, &token, "Kim Jansen").await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    assert_eq!(joined.body["user"]["role"], "member");
    assert_eq!(joined.body["user"]["email_verified"], true);
    assert_eq!(joined.body["organisation"]["id"], donor.org.as_str());
    let twice = accept(&app, &token, "Someone Else").await;
    twice.assert_problem(422, "validation");
    assert_eq!(twice.body["errors"][0]["code"], "invalid_invitation");

    let kim = app.token(INVITEE).await;
    let members = app
        .get("/api/v1/organisations/me/members", Some(&kim))
        .await;
    assert_eq!(members.status, 200, "{}", members.body);
    let roles: Vec<(&str, &str)> = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [(Market::DONOR, "owner"), (INVITEE, "member")],
        "{}",
        members.body
    );
    assert!(app
        .get("/api/v1/organisations/me/invitations", Some(&donor.token))
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty());
    // Members work in the market: a wish of the organisation.
    let wish = app
        .post(
            "/api/v1/wishes",
            Some(&kim),
            &WishBuilder::doors().json(&app).await,
        )
        .await;
    assert_eq!(wish.status, 201, "{}", wish.body);
}

#[actix_web::test]
async fn an_invitation_expires_and_a_newer_one_or_the_owner_takes_it_back() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    invite(&app, donor, INVITEE, "member").await;
    let first = last_token(&app, "invitation", INVITEE).await;
    invite(&app, donor, INVITEE, "owner").await;
    let second = last_token(&app, "invitation", INVITEE).await;
    accept(&app, &first, "Kim")
        .await
        .assert_problem(422, "validation");

    let third = invite(&app, donor, "jo@sloop.test", "member").await;
    let revoked = app
        .delete(
            &format!(
                "/api/v1/organisations/me/invitations/{}",
                third["id"].as_str().unwrap()
            ),
            Some(&donor.token),
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let jo = last_token(&app, "invitation", "jo@sloop.test").await;
    accept(&app, &jo, "Jo")
        .await
        .assert_problem(422, "validation");

    app.clock.advance(chrono::Duration::days(8));
    let late = accept(&app, &second, "Kim").await;
    late.assert_problem(422, "validation");
    assert_eq!(late.body["errors"][0]["code"], "invalid_invitation");
    assert_eq!(
        app.sql_count(&format!(
            "SELECT count(*) AS count FROM users WHERE email = '{INVITEE}'"
        ))
        .await,
        0
    );
}

#[actix_web::test]
async fn a_member_cannot_do_what_only_owners_may() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    market.fund(&app, donor, 10_000).await;
    let (kim, _) = join(&app, donor, INVITEE, "member").await;
    let owner_id = user_id(&app, donor).await;

    app.post(
        "/api/v1/organisations/me/invitations",
        Some(&kim.token),
        &json!({"email": "jo@sloop.test"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.get("/api/v1/organisations/me/invitations", Some(&kim.token))
        .await
        .assert_problem(403, "forbidden");
    app.delete(
        &format!("/api/v1/organisations/me/members/{owner_id}"),
        Some(&kim.token),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post(
        "/api/v1/organisations/me/owner",
        Some(&kim.token),
        &json!({"user_id": owner_id}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.patch(
        "/api/v1/organisations/me",
        Some(&kim.token),
        &json!({"name": "Overgenomen BV"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let paid = app
        .post_keyed(
            "/api/v1/transfers",
            Some(&kim.token),
            &json!({"to_organisation_id": market.maker.org, "amount": 100}),
        )
        .await;
    paid.assert_problem(403, "forbidden");
    assert!(paid.body["detail"].as_str().unwrap().contains("owner"));
    // The owner may pay.
    let owner_paid = app
        .post_keyed(
            "/api/v1/transfers",
            Some(&donor.token),
            &json!({"to_organisation_id": market.maker.org, "amount": 100}),
        )
        .await;
    assert_eq!(owner_paid.status, 201, "{}", owner_paid.body);
    // Nothing changed.
    let me = app.get("/api/v1/me", Some(&donor.token)).await;
    assert_eq!(me.body["user"]["role"], "owner");
    assert_eq!(
        me.body["organisation"]["name"],
        format!("Org of {}", Market::DONOR)
    );
}

#[actix_web::test]
async fn another_organisation_cannot_touch_your_members() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (_kim, kim_id) = join(&app, &market.donor, INVITEE, "member").await;
    let donor_id = user_id(&app, &market.donor).await;
    let maker = &market.maker;
    app.delete(
        &format!("/api/v1/organisations/me/members/{kim_id}"),
        Some(&maker.token),
    )
    .await
    .assert_problem(404, "not-found");
    app.post(
        "/api/v1/organisations/me/owner",
        Some(&maker.token),
        &json!({"user_id": donor_id}),
    )
    .await
    .assert_problem(404, "not-found");
    // Inviting someone of another organisation: the invitation cannot be accepted.
    invite(&app, maker, INVITEE, "member").await;
    let token = last_token(&app, "invitation", INVITEE).await;
    let refused = accept(&app, &token, "Kim").await;
    refused.assert_problem(409, "member-of-another-organisation");
    // Nor can a member be invited twice.
    app.post(
        "/api/v1/organisations/me/invitations",
        Some(&market.donor.token),
        &json!({"email": INVITEE}),
    )
    .await
    .assert_problem(409, "already-member");
    let kim = app.get("/api/v1/me", Some(&app.token(INVITEE).await)).await;
    assert_eq!(kim.body["organisation"]["id"], market.donor.org.as_str());
}

#[actix_web::test]
async fn a_removed_member_is_refused_at_once_and_can_be_invited_again() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    let (kim, kim_id) = join(&app, donor, INVITEE, "member").await;
    let session = app.login(INVITEE).await;
    let refresh = session["refresh_token"].as_str().unwrap().to_owned();

    let removed = app
        .delete(
            &format!("/api/v1/organisations/me/members/{kim_id}"),
            Some(&donor.token),
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    // The access tokens still unexpired are refused from the next request on.
    app.get("/api/v1/me", Some(&kim.token))
        .await
        .assert_problem(401, "unauthenticated");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": refresh}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    app.post(
        "/api/v1/auth/token",
        None,
        &json!({"email": INVITEE, "password": PASSWORD}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    let members = app
        .get("/api/v1/organisations/me/members", Some(&donor.token))
        .await;
    assert_eq!(members.body.as_array().unwrap().len(), 1);
    assert_eq!(
        app.sql_count(&format!(
            "SELECT count(*) AS count FROM outbox WHERE event = 'member_removed' \
             AND recipient_user_id = '{kim_id}' AND channel = 'email'"
        ))
        .await,
        1
    );
    app.delete(
        &format!("/api/v1/organisations/me/members/{kim_id}"),
        Some(&donor.token),
    )
    .await
    .assert_problem(404, "not-found");

    // Another organisation invites the address: the account joins it.
    invite(&app, &market.maker, INVITEE, "member").await;
    let token = last_token(&app, "invitation", INVITEE).await;
    let joined = accept(&app, &token, "Kim Jansen").await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    assert_eq!(joined.body["user"]["id"], kim_id.as_str());
    assert_eq!(joined.body["organisation"]["id"], market.maker.org.as_str());
    let me = app.get("/api/v1/me", Some(&app.token(INVITEE).await)).await;
    assert_eq!(me.body["organisation"]["id"], market.maker.org.as_str());
}

#[actix_web::test]
async fn the_last_owner_passes_ownership_on_before_leaving() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    let donor_id = user_id(&app, donor).await;
    let (kim, kim_id) = join(&app, donor, INVITEE, "member").await;

    app.delete(
        &format!("/api/v1/organisations/me/members/{donor_id}"),
        Some(&donor.token),
    )
    .await
    .assert_problem(409, "last-owner");
    app.post(
        "/api/v1/organisations/me/owner",
        Some(&donor.token),
        &json!({"user_id": donor_id}),
    )
    .await
    .assert_problem(422, "validation");

    let passed = app
        .post(
            "/api/v1/organisations/me/owner",
            Some(&donor.token),
            &json!({"user_id": kim_id}),
        )
        .await;
    assert_eq!(passed.status, 200, "{}", passed.body);
    let roles: Vec<&str> = passed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["member", "owner"]);
    // Every member is told.
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE event = 'ownership_passed' \
             AND channel = 'email'"
        )
        .await,
        2
    );
    // The role holds from the next request on: the former owner can no longer invite.
    app.post(
        "/api/v1/organisations/me/invitations",
        Some(&donor.token),
        &json!({"email": "jo@sloop.test"}),
    )
    .await
    .assert_problem(403, "forbidden");
    // The former owner may leave; the new one cannot.
    app.delete(
        &format!("/api/v1/organisations/me/members/{kim_id}"),
        Some(&kim.token),
    )
    .await
    .assert_problem(409, "last-owner");
    let left = app
        .delete(
            &format!("/api/v1/organisations/me/members/{donor_id}"),
            Some(&donor.token),
        )
        .await;
    assert_eq!(left.status, 204, "{}", left.body);
}

#[actix_web::test]
async fn two_owners_removing_each_other_at_once_leave_one_owner() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    let donor_id = user_id(&app, donor).await;
    let (kim, kim_id) = join(&app, donor, INVITEE, "owner").await;
    for _ in 0..3 {
        let remove_kim = format!("/api/v1/organisations/me/members/{kim_id}");
        let remove_donor = format!("/api/v1/organisations/me/members/{donor_id}");
        let (a, b) = tokio::join!(
            app.delete(&remove_kim, Some(&donor.token)),
            app.delete(&remove_donor, Some(&kim.token)),
        );
        let removed = [a.status, b.status].iter().filter(|s| **s == 204).count();
        assert_eq!(
            removed, 1,
            "{} {} / {} {}",
            a.status, a.body, b.status, b.body
        );
        assert_eq!(
            app.sql_count(&format!(
                "SELECT count(*) AS count FROM users WHERE organisation_id = '{}' \
                 AND org_role = 'owner' AND removed_at IS NULL",
                donor.org
            ))
            .await,
            1
        );
        // Back to two owners for the next round.
        app.sql(&format!(
            "UPDATE users SET removed_at = NULL WHERE organisation_id = '{}'",
            donor.org
        ))
        .await
        .unwrap();
        app.sql("UPDATE refresh_tokens SET revoked_at = NULL")
            .await
            .unwrap();
    }
}

#[actix_web::test]
async fn a_user_edits_their_profile_and_mail_follows_the_language() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    let changed = app
        .patch(
            "/api/v1/me",
            Some(&donor.token),
            &json!({"display_name": "Sanne de Vries", "locale": "nl"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["user"]["display_name"], "Sanne de Vries");
    assert_eq!(changed.body["user"]["locale"], "nl");
    app.patch(
        "/api/v1/me",
        Some(&donor.token),
        &json!({"display_name": " "}),
    )
    .await
    .assert_problem(422, "validation");
    app.patch(
        "/api/v1/me",
        Some(&donor.token),
        &json!({"email": "x@y.test"}),
    )
    .await
    .assert_problem(422, "validation");
    // The next mail is rendered in Dutch: the mail engine reads the language when it sends.
    let rendered = kringloop::app::engine::mail::render(
        "member_removed",
        changed.body["user"]["locale"].as_str().unwrap(),
        "Sanne",
        &json!({"organisation_name": "Sloop", "by_name": "Kim"}),
        "https://kringloop.test",
    )
    .unwrap();
    assert!(rendered.subject.contains("geen lid meer"), "{rendered:?}");
}

#[actix_web::test]
async fn an_owner_edits_the_organisation_and_its_district_follows_the_location() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    let donor = &market.donor;
    let before = app.get("/api/v1/me", Some(&donor.token)).await.body["organisation"].clone();
    assert!(before["district_id"].is_string(), "{before}");
    let (lat, lon) = SITE;
    let changed = app
        .patch(
            "/api/v1/organisations/me",
            Some(&donor.token),
            &json!({"name": "Sloopbedrijf Binckhorst", "address": "Binckhorstlaan 1",
                    "location": {"lat": lat, "lon": lon}}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["name"], "Sloopbedrijf Binckhorst");
    assert_eq!(changed.body["address"], "Binckhorstlaan 1");
    assert!(changed.body["district_id"].is_string());
    assert_ne!(changed.body["district_id"], before["district_id"]);
    let public = app
        .get(
            &format!("/api/v1/organisations/{}", donor.org),
            Some(&market.maker.token),
        )
        .await;
    assert_eq!(public.body["name"], "Sloopbedrijf Binckhorst");

    let cleared = app
        .patch(
            "/api/v1/organisations/me",
            Some(&donor.token),
            &json!({"address": null, "location": null}),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert!(cleared.body["address"].is_null());
    assert!(cleared.body["district_id"].is_null());
    assert_eq!(cleared.body["name"], "Sloopbedrijf Binckhorst");

    let bad = app
        .patch(
            "/api/v1/organisations/me",
            Some(&donor.token),
            &json!({"name": "", "location": {"lat": 123.0, "lon": 4.3}}),
        )
        .await;
    bad.assert_problem(422, "validation");
    let pointers: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/name", "/location/lat"]);
}
