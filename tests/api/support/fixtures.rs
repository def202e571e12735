//! The data tests stand on: a market of a broker and two verified organisations, and builders
//! for passports, listings and wishes whose defaults are a plain lot of oak doors, so that a
//! test names only what is special about its data.

use super::harness::{Response, TestApp};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

/// Binckhorst, The Hague: a demolition site.
pub const SITE: (f64, f64) = (52.068, 4.345);

/// The city centre: where `TestApp::register_in` places every organisation, and where wishes
/// look around.
pub const CENTRE: (f64, f64) = (52.0705, 4.3007);

/// Whatever a request can be signed with: a member, or a bare access token.
pub trait Bearer {
    fn bearer(&self) -> &str;
}

impl Bearer for str {
    fn bearer(&self) -> &str {
        self
    }
}

impl Bearer for String {
    fn bearer(&self) -> &str {
        self
    }
}

impl<T: Bearer + ?Sized> Bearer for &T {
    fn bearer(&self) -> &str {
        (**self).bearer()
    }
}

/// The owner of an organisation, signed in.
#[derive(Debug, Clone)]
pub struct Member {
    pub email: String,
    pub token: String,
    pub org: String,
}

impl Bearer for Member {
    fn bearer(&self) -> &str {
        &self.token
    }
}

impl Member {
    pub fn org_uuid(&self) -> Uuid {
        self.org.parse().unwrap()
    }

    /// Signs in again, for a test whose clock has moved past the access token's life.
    pub async fn login(&mut self, app: &TestApp) {
        self.token = app.token(&self.email).await;
    }
}

/// The scenario most tests start from: the city's broker, a verified demolition contractor
/// that gives material (`donor`) and a verified makerspace that wants it (`maker`).
pub struct Market {
    pub broker: String,
    pub donor: Member,
    pub maker: Member,
}

impl Market {
    pub const DONOR: &str = "sanne@sloop.test";
    pub const MAKER: &str = "kim@makerspace.test";

    pub async fn open(app: &TestApp) -> Market {
        let broker = app.broker().await;
        Self::open_with(app, broker).await
    }

    /// The market in a city whose districts are known, so lots and flows have districts.
    pub async fn in_districts(app: &TestApp) -> Market {
        let broker = app.broker().await;
        app.upload_districts(&broker).await;
        Self::open_with(app, broker).await
    }

    async fn open_with(app: &TestApp, broker: String) -> Market {
        let donor = verified(app, &broker, Self::DONOR, "contractor").await;
        let maker = verified(app, &broker, Self::MAKER, "makerspace").await;
        Market {
            broker,
            donor,
            maker,
        }
    }

    /// Another organisation, verified by this market's broker.
    pub async fn verified(&self, app: &TestApp, email: &str, kind: &str) -> Member {
        verified(app, &self.broker, email, kind).await
    }

    /// Local currency issued to a member by the broker.
    pub async fn fund(&self, app: &TestApp, member: &Member, amount: i64) -> Value {
        issue(app, &self.broker, &member.org, amount).await
    }
}

/// An organisation's owner, signed in but not verified yet.
pub async fn unverified(app: &TestApp, email: &str, kind: &str) -> Member {
    let (token, org) = app.member(email, kind).await;
    Member {
        email: email.to_owned(),
        token,
        org,
    }
}

/// An organisation's owner, verified by `broker`.
pub async fn verified(app: &TestApp, broker: &str, email: &str, kind: &str) -> Member {
    let (token, org) = app.verified_member(email, kind, broker).await;
    Member {
        email: email.to_owned(),
        token,
        org,
    }
}

/// A verified organisation's owner who reads Dutch.
pub async fn verified_dutch(app: &TestApp, broker: &str, email: &str, kind: &str) -> Member {
    let registered = app.register_in(email, kind, "nl").await;
    let org = registered["organisation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    verify(app, broker, &org).await;
    Member {
        email: email.to_owned(),
        token: app.token(email).await,
        org,
    }
}

/// The broker verifies `org`, once its owners have followed the link that confirms their
/// address (as the broker requires).
pub async fn verify(app: &TestApp, broker: &str, org: &str) -> Value {
    super::mailbox::confirm_owners(app, org).await;
    let verified = app
        .post(
            &format!("/api/v1/admin/organisations/{org}/verify"),
            Some(broker),
            &json!({}),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    verified.body
}

/// The id of a taxonomy category, by its code.
pub async fn category_id(app: &TestApp, code: &str) -> Uuid {
    let response = app.get("/api/v1/categories", None).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("no category {code}"))["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A material passport; by default a batch of oak interior doors from an office of 1968.
pub struct PassportBuilder {
    body: Value,
}

impl PassportBuilder {
    pub fn doors() -> PassportBuilder {
        PassportBuilder {
            body: json!({
                "category": "doors-interior",
                "eural_code": "17 02 01",
                "name": "Eiken binnendeuren / oak interior doors",
                "description": "Massief eiken deuren met kozijn, uit kantoorpand 1968",
                "composition": [{"material": "oak", "fraction_ppm": 950000},
                                {"material": "steel", "fraction_ppm": 50000}],
                "dimensions": {"length_mm": 2015, "width_mm": 830, "height_mm": 40},
                "unit_mass": {"grams": 32000, "per": "piece"},
                "condition": "good",
                "origin": {"site": "Kantoor Binckhorstlaan", "building_year": 1968,
                           "location": {"lat": SITE.0, "lon": SITE.1}},
                "circularity": {"r_strategies": ["reuse", "refurbish"], "disassembly": "easy"},
                "embodied_co2e_g_per_kg": 460
            }),
        }
    }

    /// Oak doors with asbestos in their seals: not listable until cleared.
    pub fn asbestos_doors() -> PassportBuilder {
        PassportBuilder {
            body: json!({
                "category": "doors-interior", "eural_code": "17 06 05",
                "name": "Oak doors with asbestos seals", "condition": "fair",
                "unit_mass": {"grams": 32000, "per": "piece"}
            }),
        }
        .hazard("asbestos", "in the door seals")
    }

    pub fn category(self, code: &str) -> Self {
        self.set("category", json!(code))
    }

    pub fn name(self, name: &str) -> Self {
        self.set("name", json!(name))
    }

    pub fn condition(self, condition: &str) -> Self {
        self.set("condition", json!(condition))
    }

    pub fn hazard(mut self, substance: &str, note: &str) -> Self {
        let hazard = json!({"substance": substance, "note": note});
        match self.body["hazards"].as_array_mut() {
            Some(hazards) => hazards.push(hazard),
            None => self.body["hazards"] = json!([hazard]),
        }
        self
    }

    /// Sets any field, to a good value or, in tests of validation, a bad one.
    pub fn set(mut self, field: &str, value: Value) -> Self {
        self.body[field] = value;
        self
    }

    /// Sets every field of `change` (an object), as `set` does one.
    pub fn with(mut self, change: &Value) -> Self {
        for (field, value) in change.as_object().unwrap() {
            self.body[field] = value.clone();
        }
        self
    }

    pub fn json(&self) -> Value {
        self.body.clone()
    }

    pub async fn create(&self, app: &TestApp, owner: &(impl Bearer + ?Sized)) -> Value {
        let response = app
            .post("/api/v1/passports", Some(owner.bearer()), &self.body)
            .await;
        assert_eq!(response.status, 201, "{}", response.body);
        response.body
    }
}

/// An offer of a lot; by default 8 doors of a new passport, available now at the site, for
/// 25 euros each.
pub struct ListingBuilder {
    passport: Option<Value>,
    body: Value,
}

impl ListingBuilder {
    /// A lot of doors on a passport of its own, made when the listing is.
    pub fn doors() -> ListingBuilder {
        Self::new(None)
    }

    /// A lot of the material of an existing passport.
    pub fn of(passport: &Value) -> ListingBuilder {
        Self::new(Some(passport["id"].clone()))
    }

    fn new(passport: Option<Value>) -> ListingBuilder {
        ListingBuilder {
            body: json!({
                "passport_id": passport.clone().unwrap_or(Value::Null),
                "quantity": {"amount": 8, "unit": "piece"},
                "pickup": {"lat": SITE.0, "lon": SITE.1, "address": "Binckhorstlaan 36, Den Haag"},
                "price": {"amount": 2500, "currency": "EUR"}
            }),
            passport,
        }
        .available_in_days(0)
    }

    pub fn quantity(mut self, amount: i64) -> Self {
        self.body["quantity"] = json!({"amount": amount, "unit": "piece"});
        self
    }

    /// Available this many days from now (announced until then).
    pub fn available_in_days(mut self, days: i64) -> Self {
        // An hour early: the test clock stands at the moment the app started.
        let from = Utc::now() + Duration::days(days) - Duration::hours(1);
        self.body["available_from"] = json!(from.to_rfc3339());
        self
    }

    pub fn available_until_in_days(mut self, days: i64) -> Self {
        self.body["available_until"] = json!((Utc::now() + Duration::days(days)).to_rfc3339());
        self
    }

    pub fn price(mut self, amount: i64, currency: &str) -> Self {
        self.body["price"] = json!({"amount": amount, "currency": currency});
        self
    }

    pub fn free(mut self) -> Self {
        self.body["price"] = Value::Null;
        self
    }

    /// Picked up at a place without an address.
    pub fn pickup(mut self, lat: f64, lon: f64) -> Self {
        self.body["pickup"] = json!({"lat": lat, "lon": lon});
        self
    }

    pub fn note(mut self, note: &str) -> Self {
        self.body["note"] = json!(note);
        self
    }

    /// Sets every field of `change` (an object), for tests of validation.
    pub fn with(mut self, change: &Value) -> Self {
        for (field, value) in change.as_object().unwrap() {
            self.body[field] = value.clone();
        }
        self
    }

    /// The request body; only for a listing of an existing passport.
    pub fn json(&self) -> Value {
        assert!(self.passport.is_some(), "a listing's body needs a passport");
        self.body.clone()
    }

    pub async fn create(&self, app: &TestApp, owner: &(impl Bearer + ?Sized)) -> Value {
        let mut body = self.body.clone();
        if self.passport.is_none() {
            body["passport_id"] = PassportBuilder::doors().create(app, owner).await["id"].clone();
        }
        let response = app
            .post("/api/v1/listings", Some(owner.bearer()), &body)
            .await;
        assert_eq!(response.status, 201, "{}", response.body);
        response.body
    }
}

/// A standing wish; by default for 4 doors of at least 2 m in fair condition, within 10 km of
/// the centre, needed within 90 days, at most 50 euros each, told at once.
pub struct WishBuilder {
    category: String,
    body: Value,
}

impl WishBuilder {
    pub fn doors() -> WishBuilder {
        WishBuilder {
            category: "doors".into(),
            body: json!({
                "keywords": ["deur"],
                "attributes": {"length_mm": {"min": 2000}},
                "condition_min": "fair",
                "quantity": {"amount": 4, "unit": "piece"},
                "near": {"lat": CENTRE.0, "lon": CENTRE.1},
                "radius_km": 10,
                "needed_by": (Utc::now() + Duration::days(90)).to_rfc3339(),
                "max_price": [{"currency": "EUR", "amount": 5000}],
                "include_announced": true,
                "notify": "instant"
            }),
        }
    }

    pub fn quantity(mut self, amount: i64) -> Self {
        self.body["quantity"] = json!({"amount": amount, "unit": "piece"});
        self
    }

    /// `instant` or `daily`.
    pub fn notify(mut self, how: &str) -> Self {
        self.body["notify"] = json!(how);
        self
    }

    /// Sets every field of `change` (an object), for tests of validation.
    pub fn with(mut self, change: &Value) -> Self {
        for (field, value) in change.as_object().unwrap() {
            self.body[field] = value.clone();
        }
        self
    }

    /// The request body, naming the category by its code (unless `with` named one).
    pub async fn json(&self, _app: &TestApp) -> Value {
        let mut body = self.body.clone();
        if body.get("category_id").is_none() && body.get("category").is_none() {
            body["category"] = json!(self.category);
        }
        body
    }

    pub async fn create(&self, app: &TestApp, owner: &(impl Bearer + ?Sized)) -> Value {
        let body = self.json(app).await;
        let response = app
            .post("/api/v1/wishes", Some(owner.bearer()), &body)
            .await;
        assert_eq!(response.status, 201, "{}", response.body);
        response.body
    }
}

/// A wish's matches and bundles, as its owner sees them.
pub async fn matches_of(app: &TestApp, owner: &(impl Bearer + ?Sized), wish: &Value) -> Value {
    let response = app
        .get(
            &format!("/api/v1/wishes/{}/matches", wish["id"].as_str().unwrap()),
            Some(owner.bearer()),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

/// Asks to hold `quantity` of a listing, under a fresh idempotency key; the answer is the
/// test's to judge.
pub async fn reserve(
    app: &TestApp,
    who: &(impl Bearer + ?Sized),
    listing: &Value,
    quantity: i64,
) -> Response {
    app.post_keyed(
        "/api/v1/reservations",
        Some(who.bearer()),
        &json!({"listing_id": listing["id"], "quantity": quantity}),
    )
    .await
}

/// A listing as the public sees it now.
pub async fn listing_now(app: &TestApp, listing: &Value) -> Value {
    let response = app
        .get(
            &format!("/api/v1/listings/{}", listing["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

/// Local currency issued to an organisation by the broker, under a fresh idempotency key.
pub async fn issue(app: &TestApp, broker: &str, org: &str, amount: i64) -> Value {
    let issued = app
        .post_keyed(
            "/api/v1/admin/issuance",
            Some(broker),
            &json!({"organisation_id": org, "amount": amount, "reason": "start-up credit"}),
        )
        .await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    issued.body
}

/// The broker sets the local currency (whatever its version now).
pub async fn set_currency(app: &TestApp, broker: &str, settings: &Value) -> Value {
    let current = app.get("/api/v1/currency", None).await;
    let etag = current.headers["etag"].to_str().unwrap().to_owned();
    let set = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/admin/currency",
            Some(broker),
            Some(settings),
            &[("If-Match", etag.as_str())],
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    set.body
}

/// The member's own account in the local currency.
pub async fn account(app: &TestApp, who: &(impl Bearer + ?Sized)) -> Value {
    let response = app.get("/api/v1/accounts/me", Some(who.bearer())).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

/// (balance, held) of the member's own account.
pub async fn balance(app: &TestApp, who: &(impl Bearer + ?Sized)) -> (i64, i64) {
    let account = account(app, who).await;
    (
        account["balance"].as_i64().unwrap(),
        account["held"].as_i64().unwrap(),
    )
}

/// The events in a member's in-app feed, newest first.
pub async fn feed_events(app: &TestApp, who: &(impl Bearer + ?Sized)) -> Vec<String> {
    let feed = app
        .get("/api/v1/notifications?limit=100", Some(who.bearer()))
        .await;
    feed.items()
        .iter()
        .map(|item| item["event"].as_str().unwrap().to_owned())
        .collect()
}
