//! The members' and account forms in the pages: an owner invites from the workspace, the
//! invited person accepts on the page the mail links to, the owner passes ownership on and
//! removes; a member sees no owner's forms and is refused if they post one anyway; profile and
//! organisation edits on the account page; the page that confirms an address.

use crate::support::*;

const PASSWORD: &str = "correct horse battery";
const INVITEE: &str = "kim@sloop.test";

#[actix_web::test]
async fn an_owner_invites_from_the_workspace_and_the_invited_person_joins_on_the_page() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let mut owner = PageClient::new(&app.base);
    owner.sign_in(&market.donor.email, PASSWORD).await;
    let workspace = owner.get("/workspace").await;
    assert!(workspace.body.contains("id=\"invite-form\""));

    let invited = owner
        .post(
            "/workspace/invitations",
            &[("email", INVITEE), ("role", "member")],
        )
        .await;
    assert_eq!(invited.status, 303, "{}", invited.body);
    assert_eq!(invited.location(), "/workspace?notice=invited#members");
    let workspace = owner.get("/workspace").await;
    assert!(workspace.body.contains("id=\"invitation-list\""));
    assert!(workspace.body.contains(INVITEE));

    // The page the mail links to.
    let token = last_token(&app, "invitation", INVITEE).await;
    let mut kim = PageClient::new(&app.base);
    let page = kim.get(&format!("/invitation?token={token}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!("Org of {}", Market::DONOR)));
    let weak = kim
        .post(
            "/invitation",
            &[
                ("token", token.as_str()),
                ("display_name", "Kim Jansen"),
                ("password", "password123"),
                ("locale", "en"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(weak.body.contains("id=\"invitation-error\""));
    let joined = kim
        .post(
            "/invitation",
            &[
                ("token", token.as_str()),
                ("display_name", "Kim Jansen"),
                ("password", PASSWORD),
                ("locale", "en"),
            ],
        )
        .await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    assert!(joined.body.contains("id=\"invitation-done\""));
    let used = kim.get(&format!("/invitation?token={token}")).await;
    assert_eq!(used.status, 404);
    assert!(used.body.contains("id=\"invitation-invalid\""));

    // A member sees no owner's forms, and is refused when posting one anyway.
    kim.sign_in(INVITEE, PASSWORD).await;
    let members_view = kim.get("/workspace").await;
    assert!(!members_view.body.contains("id=\"invite-form\""));
    assert!(!members_view.body.contains("/workspace/owner"));
    let refused = kim
        .post(
            "/workspace/invitations",
            &[("email", "jo@sloop.test"), ("role", "owner")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let account = kim.get("/workspace/account").await;
    assert!(!account.body.contains("id=\"organisation-form\""));
    let refused = kim
        .post("/workspace/organisation", &[("name", "Overgenomen")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    // The owner passes ownership on to Kim, and Kim removes the former owner.
    let kim_id = app
        .get("/api/v1/me", Some(&app.token(INVITEE).await))
        .await
        .body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let workspace = owner.get("/workspace").await;
    assert!(workspace
        .body
        .contains(&format!("data-member=\"{kim_id}\"")));
    let passed = owner
        .post("/workspace/owner", &[("user_id", kim_id.as_str())])
        .await;
    assert_eq!(passed.status, 303, "{}", passed.body);
    let former = app.get("/api/v1/me", Some(&market.donor.token)).await;
    assert_eq!(former.body["user"]["role"], "member");
    let former_id = former.body["user"]["id"].as_str().unwrap().to_owned();
    kim.get("/workspace").await;
    let removed = kim
        .post(&format!("/workspace/members/{former_id}/remove"), &[])
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    // The removed owner's browser session ends with it.
    let gone = owner.get("/workspace").await;
    assert_eq!(gone.status, 303);
    assert!(gone.location().starts_with("/login"));
}

#[actix_web::test]
async fn the_account_page_edits_the_profile_and_the_organisation() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    let mut owner = PageClient::new(&app.base);
    owner.sign_in(&market.donor.email, PASSWORD).await;
    let account = owner.get("/workspace/account").await;
    assert!(account.body.contains("id=\"profile-form\""));
    assert!(account.body.contains("id=\"organisation-form\""));

    let saved = owner
        .post(
            "/workspace/profile",
            &[("display_name", "Sanne de Vries"), ("locale", "nl")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let me = app.get("/api/v1/me", Some(&market.donor.token)).await;
    assert_eq!(me.body["user"]["display_name"], "Sanne de Vries");
    assert_eq!(me.body["user"]["locale"], "nl");

    let (lat, lon) = SITE;
    let saved = owner
        .post(
            "/workspace/organisation",
            &[
                ("name", "Sloopbedrijf Binckhorst"),
                ("address", "Binckhorstlaan 1"),
                ("lat", &lat.to_string()),
                ("lon", &lon.to_string()),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let organisation = &app.get("/api/v1/me", Some(&market.donor.token)).await.body["organisation"];
    assert_eq!(organisation["name"], "Sloopbedrijf Binckhorst");
    assert_eq!(organisation["location"]["lat"], lat);
    assert!(organisation["district_id"].is_string());
    let bad = owner
        .post(
            "/workspace/organisation",
            &[("name", ""), ("lat", "52"), ("lon", "")],
        )
        .await;
    assert!(bad.status == 400 || bad.status == 422, "{}", bad.status);
}

#[actix_web::test]
async fn the_verification_link_confirms_the_address_on_its_page() {
    let app = TestApp::spawn().await;
    let owner = unverified(&app, "sanne@sloop.test", "contractor").await;
    let mut page = PageClient::new(&app.base);
    page.sign_in(&owner.email, PASSWORD).await;
    let account = page.get("/workspace/account").await;
    assert!(account.body.contains("id=\"resend-form\""));
    let resent = page.post("/workspace/verification", &[]).await;
    assert_eq!(resent.status, 303, "{}", resent.body);
    assert_eq!(
        mailed_tokens(&app, "email_verification", &owner.email)
            .await
            .len(),
        2
    );

    let token = last_token(&app, "email_verification", &owner.email).await;
    let mut visitor = PageClient::new(&app.base);
    let form = visitor.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    // Opening the link confirms nothing yet (a mail scanner may open it).
    let me = app.get("/api/v1/me", Some(&owner.token)).await;
    assert_eq!(me.body["user"]["email_verified"], false);
    let done = visitor
        .post("/verify-email", &[("token", token.as_str())])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("id=\"verify-done\""));
    let me = app.get("/api/v1/me", Some(&owner.token)).await;
    assert_eq!(me.body["user"]["email_verified"], true);
    let again = visitor.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(again.status, 404);
    let account = page.get("/workspace/account").await;
    assert!(!account.body.contains("id=\"resend-form\""));
}
