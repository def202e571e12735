//! How long a reservation holds its lot: from when the material can be collected, so that a
//! hold on an announced lot does not run out before anyone could fetch it.

use crate::support::*;
use chrono::Duration;

#[actix_web::test]
async fn a_hold_on_an_announced_lot_runs_from_when_it_can_be_collected() {
    let app = TestApp::spawn().await;
    let mut market = Market::open(&app).await;
    let listing = ListingBuilder::doors()
        .quantity(4)
        .available_in_days(10)
        .create(&app, &market.donor)
        .await;
    assert_eq!(listing["status"], "announced");
    let held = reserve(&app, &market.maker, &listing, 4).await;
    assert_eq!(held.status, 201, "{}", held.body);
    let reservation = format!("/api/v1/reservations/{}", held.body["id"].as_str().unwrap());

    // Past the hold counted from the reservation, before it is counted from availability.
    app.clock.advance(Duration::hours(73));
    let expired = kringloop::app::reservations::expire_due(&app.ctx)
        .await
        .unwrap();
    assert_eq!(expired, 0, "the lot cannot even be collected yet");
    market.maker.login(&app).await;
    let still = app.get(&reservation, Some(&market.maker.token)).await;
    assert_eq!(still.body["status"], "held", "{}", still.body);

    // Past the hold counted from availability.
    app.clock.advance(Duration::days(10));
    let expired = kringloop::app::reservations::expire_due(&app.ctx)
        .await
        .unwrap();
    assert_eq!(expired, 1);
    market.maker.login(&app).await;
    let ended = app.get(&reservation, Some(&market.maker.token)).await;
    assert_eq!(ended.body["status"], "expired", "{}", ended.body);
}
