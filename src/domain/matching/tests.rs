//! Tests of the predicates, validation, scores and reasons, bundles, and the property that the
//! indexes find exactly what a plain scan finds.

use super::fixtures::*;
use super::*;
use crate::domain::account::Locale;

fn matching(wish: &Wish, offer: &Offer) -> bool {
    matches(wish, offer, &tree(), now())
}

#[test]
fn the_fixtures_match() {
    assert!(matching(&wish(), &offer()));
}

#[test]
fn the_offer_must_lie_in_the_wished_subtree() {
    let mut wish = wish();
    for (category, expected) in [
        (MATERIALS, true),
        (DOORS, true),
        (INTERIOR_DOORS, true),
        (EXTERIOR_DOORS, false),
        (TIMBER, false),
        (id(99), false),
    ] {
        wish.category_id = category;
        assert_eq!(matching(&wish, &offer()), expected, "{category}");
    }
    let mut offer = offer();
    offer.category_id = id(99);
    wish.category_id = id(99);
    assert!(
        matching(&wish, &offer),
        "a category outside the tree matches itself"
    );
}

#[test]
fn every_keyword_must_begin_a_word() {
    let mut wish = wish();
    for (keywords, expected) in [
        (vec!["eiken"], true),
        (vec!["EIKEN", "binnendeur"], true),
        (vec!["massief eiken"], true),
        (vec!["eiken", "grenen"], false),
        (vec!["houten"], false),
    ] {
        wish.keywords = keywords.iter().map(|k| k.to_string()).collect();
        assert_eq!(matching(&wish, &offer()), expected, "{keywords:?}");
    }
}

#[test]
fn bounded_dimensions_must_be_known_and_within() {
    let mut wish = wish();
    wish.attributes.length_mm = MmRange {
        min: Some(2000),
        max: Some(2100),
    };
    assert!(matching(&wish, &offer()));
    wish.attributes.width_mm = MmRange {
        min: None,
        max: Some(800),
    };
    assert!(!matching(&wish, &offer()), "830 mm is too wide");
    wish.attributes.width_mm = MmRange::default();
    let mut offer = offer();
    offer.dimensions.length_mm = None;
    assert!(!matching(&wish, &offer), "an unknown length fails a bound");
    wish.attributes.length_mm = MmRange::default();
    assert!(matching(&wish, &offer), "but not when nothing is bounded");
}

#[test]
fn condition_must_reach_the_minimum() {
    let mut wish = wish();
    wish.condition_min = Some(Condition::Good);
    assert!(matching(&wish, &offer()));
    wish.condition_min = Some(Condition::AsNew);
    assert!(!matching(&wish, &offer()));
}

#[test]
fn the_offer_must_lie_within_the_radius() {
    let mut wish = wish();
    let mut offer = offer();
    offer.location = north_of(HOME, 9.99);
    assert!(matching(&wish, &offer));
    offer.location = north_of(HOME, 10.01);
    assert!(!matching(&wish, &offer));
    wish.radius_km = f64::NAN;
    offer.location = HOME;
    assert!(!matching(&wish, &offer), "a radius that is not a number");
    wish.radius_km = 10.0;
    offer.location = Location {
        lat: 452.07,
        lon: 4.30,
    };
    assert!(!matching(&wish, &offer), "an invalid point is nowhere");
}

#[test]
fn announced_supply_counts_only_when_wished_and_in_time() {
    let mut wish = wish();
    let mut offer = offer();
    offer.status = ListingStatus::Announced;
    offer.available_from = now() + days(30);
    assert!(matching(&wish, &offer));
    wish.needed_by = Some(now() + days(30));
    assert!(matching(&wish, &offer), "expected on the day it is needed");
    wish.needed_by = Some(now() + days(29));
    assert!(!matching(&wish, &offer), "expected too late");
    wish.needed_by = None;
    wish.include_announced = false;
    assert!(!matching(&wish, &offer));
}

#[test]
fn a_wish_whose_date_has_passed_wants_nothing() {
    let mut wish = wish();
    wish.needed_by = Some(now() + days(1));
    assert!(matching(&wish, &offer()));
    wish.needed_by = Some(now() - days(1));
    assert!(!matching(&wish, &offer()));
}

#[test]
fn only_open_offers_with_something_left_match() {
    let wish = wish();
    for status in ListingStatus::ALL {
        let mut offer = offer();
        offer.status = *status;
        assert_eq!(matching(&wish, &offer), status.is_open(), "{status}");
    }
    let mut offer = offer();
    offer.quantity_available = 0;
    assert!(!matching(&wish, &offer));
}

#[test]
fn a_match_is_retracted_only_for_what_the_pair_says_now() {
    use status::RetractionCause as Cause;
    let cause = |wish: Option<&Wish>, offer: Option<&Offer>, changed| {
        retraction_cause(wish, offer, changed, &tree(), now())
    };
    let (wish, offer) = (wish(), offer());
    // A pair that fits stands, whichever side's job looks at it.
    assert_eq!(cause(Some(&wish), Some(&offer), Side::Listing), None);
    assert_eq!(cause(Some(&wish), Some(&offer), Side::Wish), None);
    // The demander's own doing: they are not told.
    assert_eq!(
        cause(None, Some(&offer), Side::Listing),
        Some(Cause::WishChanged)
    );
    let past = Wish {
        needed_by: Some(now() - days(1)),
        ..wish.clone()
    };
    assert_eq!(
        cause(Some(&past), Some(&offer), Side::Listing),
        Some(Cause::WishChanged)
    );
    let narrowed = Wish {
        radius_km: 1.0,
        ..wish.clone()
    };
    assert_eq!(
        cause(Some(&narrowed), Some(&offer), Side::Wish),
        Some(Cause::WishChanged)
    );
    // The listing's status says what happened to it.
    for (status, expected) in [
        (ListingStatus::Withdrawn, Cause::Withdrawn),
        (ListingStatus::Expired, Cause::Expired),
        (ListingStatus::Reserved, Cause::Taken),
        (ListingStatus::Closed, Cause::Taken),
    ] {
        let gone = Offer {
            status,
            ..offer.clone()
        };
        assert_eq!(cause(Some(&wish), Some(&gone), Side::Wish), Some(expected));
    }
    let empty = Offer {
        quantity_available: 0,
        ..offer.clone()
    };
    assert_eq!(
        cause(Some(&wish), Some(&empty), Side::Listing),
        Some(Cause::Taken)
    );
    assert_eq!(
        cause(Some(&wish), None, Side::Listing),
        Some(Cause::Withdrawn)
    );
    // An announced lot moved past the wish's date; a lot that changed otherwise.
    let by = Wish {
        needed_by: Some(now() + days(10)),
        ..wish.clone()
    };
    let later = Offer {
        status: ListingStatus::Announced,
        available_from: now() + days(20),
        ..offer.clone()
    };
    assert_eq!(
        cause(Some(&by), Some(&later), Side::Listing),
        Some(Cause::DateChanged)
    );
    let moved = Offer {
        location: north_of(HOME, 30.0),
        ..offer.clone()
    };
    assert_eq!(
        cause(Some(&wish), Some(&moved), Side::Listing),
        Some(Cause::Changed)
    );
    assert!(Cause::Changed.tells_demander() && !Cause::WishChanged.tells_demander());
}

#[test]
fn free_always_fits_and_priced_needs_a_limit_in_its_currency() {
    let mut wish = wish();
    let mut offer = offer();
    wish.max_price = vec![UnitPrice {
        currency: "EUR".into(),
        amount: 1500,
    }];
    assert!(matching(&wish, &offer), "free");
    offer.price = Some(UnitPrice {
        currency: "EUR".into(),
        amount: 1500,
    });
    assert!(matching(&wish, &offer));
    offer.price = Some(UnitPrice {
        currency: "EUR".into(),
        amount: 1501,
    });
    assert!(!matching(&wish, &offer));
    offer.price = Some(UnitPrice {
        currency: "HAGS".into(),
        amount: 1,
    });
    assert!(!matching(&wish, &offer), "no limit in that currency");
    offer.price = Some(UnitPrice {
        currency: "HAGS".into(),
        amount: 0,
    });
    assert!(matching(&wish, &offer), "zero is free");
    wish.max_price.clear();
    offer.price = Some(UnitPrice {
        currency: "HAGS".into(),
        amount: 99_999,
    });
    assert!(matching(&wish, &offer), "no limits: any price");
}

#[test]
fn prices_compare_per_gram_across_units() {
    let mut wish = wish();
    wish.quantity = Quantity {
        amount: 500,
        unit: Unit::Kg,
    };
    wish.max_price = vec![UnitPrice {
        currency: "EUR".into(),
        amount: 50,
    }];
    let mut offer = offer();
    // 32 kg doors at 16.00 per door is 0.50 per kg.
    offer.price = Some(UnitPrice {
        currency: "EUR".into(),
        amount: 1600,
    });
    assert!(matching(&wish, &offer));
    offer.price = Some(UnitPrice {
        currency: "EUR".into(),
        amount: 1601,
    });
    assert!(!matching(&wish, &offer));
}

#[test]
fn units_must_be_the_same_or_both_weighable_for_a_wish_by_mass() {
    let mut wish = wish();
    let mut offer = offer();
    offer.unit = Unit::M2;
    assert!(!matching(&wish, &offer), "pieces against m2");
    wish.quantity = Quantity {
        amount: 500,
        unit: Unit::Kg,
    };
    offer.unit = Unit::Piece;
    assert!(matching(&wish, &offer), "doors weigh 32 kg each");
    offer.grams_per_unit = None;
    assert!(!matching(&wish, &offer), "doors of unknown mass");
    offer.unit = Unit::T;
    assert!(matching(&wish, &offer), "tonnes weigh");
    wish.quantity.unit = Unit::Piece;
    assert!(!matching(&wish, &offer), "tonnes are not pieces");
}

#[test]
fn the_scans_agree_with_matches() {
    let tree = tree();
    let wish = wish();
    let mut far = wish.clone();
    far.id = id(1001);
    far.near = north_of(HOME, 50.0);
    let offer = offer();
    assert_eq!(scan_wishes([&wish, &far], &offer, &tree, now()), [wish.id]);
    let mut other = offer.clone();
    other.id = id(2001);
    other.category_id = TIMBER;
    assert_eq!(
        scan_offers([&offer, &other], &wish, &tree, now()),
        [offer.id]
    );
}

fn pointers(wish: &Wish) -> Vec<String> {
    match wish.validate() {
        Ok(()) => vec![],
        Err(errors) => errors.into_vec().into_iter().map(|e| e.pointer).collect(),
    }
}

#[test]
fn a_good_wish_passes_validation() {
    let mut wish = wish();
    wish.keywords = vec!["eiken".into(), "83 cm".into()];
    wish.max_price = vec![
        UnitPrice {
            currency: "EUR".into(),
            amount: 0,
        },
        UnitPrice {
            currency: "HAGS".into(),
            amount: 500,
        },
    ];
    wish.radius_km = MAX_RADIUS_KM;
    assert_eq!(pointers(&wish), Vec::<String>::new());
}

#[test]
fn validation_reports_every_bad_field() {
    let mut wish = wish();
    wish.keywords = vec![
        "eiken".into(),
        " ".into(),
        "x".repeat(51),
        "-deur".into(),
        "EIKEN".into(),
    ];
    wish.attributes.length_mm = MmRange {
        min: Some(2100),
        max: Some(2000),
    };
    wish.attributes.height_mm.min = Some(-1);
    wish.quantity.amount = 0;
    wish.near.lat = 91.0;
    wish.radius_km = 0.0;
    wish.max_price = vec![
        UnitPrice {
            currency: "eur".into(),
            amount: -1,
        },
        UnitPrice {
            currency: "HAGS".into(),
            amount: 1,
        },
        UnitPrice {
            currency: "HAGS".into(),
            amount: 2,
        },
    ];
    assert_eq!(
        pointers(&wish),
        [
            "/keywords/1",
            "/keywords/2",
            "/keywords/3",
            "/keywords/4",
            "/attributes/length_mm",
            "/attributes/height_mm/min",
            "/quantity/amount",
            "/near/lat",
            "/radius_km",
            "/max_price/0/currency",
            "/max_price/0/amount",
            "/max_price/2/currency",
        ]
    );
    wish.keywords = vec!["a".into(); 11];
    assert!(pointers(&wish).contains(&"/keywords".to_string()));
    wish.radius_km = 100.5;
    assert!(pointers(&wish).contains(&"/radius_km".to_string()));
}

#[test]
fn scores_rank_closer_fuller_better_offers_higher() {
    let tree = tree();
    let wish = wish();
    let base = score(&wish, &offer(), &tree, now());
    assert_eq!(base, score(&wish, &offer(), &tree, now()), "deterministic");
    assert!(base.score <= 1000);
    let mut nearer = offer();
    nearer.location = north_of(HOME, 0.5);
    assert!(score(&wish, &nearer, &tree, now()).score > base.score);
    let mut more = offer();
    more.quantity_available = 20;
    assert!(score(&wish, &more, &tree, now()).score > base.score);
    let mut exact = wish.clone();
    exact.category_id = INTERIOR_DOORS;
    assert!(score(&exact, &offer(), &tree, now()).score > base.score);
    let mut announced = offer();
    announced.status = ListingStatus::Announced;
    announced.available_from = now() + days(10);
    assert!(score(&wish, &announced, &tree, now()).score < base.score);

    let mut perfect = offer();
    perfect.location = HOME;
    perfect.quantity_available = 20;
    perfect.condition = Condition::New;
    perfect.category_id = DOORS;
    assert_eq!(score(&wish, &perfect, &tree, now()).score, 1000);
}

#[test]
fn reasons_carry_the_figures() {
    let tree = tree();
    let mut wish = wish();
    wish.attributes.width_mm = MmRange {
        min: Some(800),
        max: Some(900),
    };
    wish.condition_min = Some(Condition::Fair);
    let scored = score(&wish, &offer(), &tree, now());
    assert_eq!(
        scored.reasons,
        [
            Reason::Category { depth: Some(1) },
            Reason::Attributes { bounded: 1, met: 1 },
            Reason::Quantity {
                offered: 8,
                wanted: 20,
                unit: Unit::Piece,
                percent: 40
            },
            // 8 doors of 32 kg is 0.256 t, over 2 km at 0.1 kg/t·km: 51.2 g.
            Reason::Distance {
                metres: 2000,
                transport_co2e_g: Some(51)
            },
            Reason::Timing(Timing::AvailableNow { needed_by: None }),
            Reason::Price(PriceFit::Free),
            Reason::Condition {
                condition: Condition::Good,
                min: Some(Condition::Fair)
            },
        ]
    );
    // category 150 - 40, attributes 100, quantity 40 % of 250, distance 80 % of 250, timing 100,
    // price 100, condition 3/5 of 50.
    assert_eq!(scored.score, 110 + 100 + 100 + 200 + 100 + 100 + 30);
}

#[test]
fn transport_counts_only_what_the_wish_needs() {
    let mut offer = offer();
    offer.quantity_available = 100;
    offer.location = north_of(HOME, 10.0);
    let wish = wish();
    let scored = score(&wish, &offer, &tree(), now());
    // 20 doors of 32 kg over 10 km: 0.64 t × 10 km × 100 g = 640 g.
    assert!(scored.reasons.contains(&Reason::Distance {
        metres: 10_000,
        transport_co2e_g: Some(640)
    }));
}

#[test]
fn reasons_read_in_dutch_and_english() {
    let texts = |reason: Reason| (reason.text(Locale::Nl), reason.text(Locale::En));
    assert_eq!(
        texts(Reason::Category { depth: Some(0) }),
        (
            "Precies de gevraagde categorie".into(),
            "Exactly the category you asked for".into()
        )
    );
    assert_eq!(
        texts(Reason::Category { depth: Some(2) }),
        (
            "In een subcategorie (2 niveaus lager)".into(),
            "In a subcategory (2 levels down)".into()
        )
    );
    assert_eq!(
        texts(Reason::Attributes { bounded: 3, met: 2 }),
        (
            "Voldoet aan 2 van 3 maateisen".into(),
            "Meets 2 of 3 size requirements".into()
        )
    );
    assert_eq!(
        texts(Reason::Quantity {
            offered: 8,
            wanted: 20,
            unit: Unit::Piece,
            percent: 40
        }),
        (
            "Dekt 40% van wat u zoekt: 8 van 20 stuks".into(),
            "Covers 40% of what you need: 8 of 20 pieces".into()
        )
    );
    assert_eq!(
        texts(Reason::Quantity {
            offered: 30,
            wanted: 20,
            unit: Unit::Piece,
            percent: 100
        }),
        (
            "Dekt alles wat u zoekt: 20 stuks (30 aangeboden)".into(),
            "Covers all you need: 20 pieces (30 on offer)".into()
        )
    );
    assert_eq!(
        texts(Reason::Distance {
            metres: 2_449,
            transport_co2e_g: Some(1_250)
        }),
        (
            "Op 2,4 km; vervoer per bestelbus ongeveer 1,3 kg CO2e".into(),
            "2.4 km away; transport by van about 1.3 kg CO2e".into()
        )
    );
    assert_eq!(
        texts(Reason::Distance {
            metres: 800,
            transport_co2e_g: Some(10)
        })
        .1,
        "0.8 km away; transport by van about less than 0.1 kg CO2e"
    );
    let on = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    assert_eq!(
        texts(Reason::Timing(Timing::Expected {
            on,
            needed_by: Some(on + days(12))
        })),
        (
            "Naar verwachting beschikbaar op 2026-06-01, 12 dagen voordat u het nodig hebt".into(),
            "Expected to be available on 2026-06-01, 12 days before you need it".into()
        )
    );
    assert_eq!(
        texts(Reason::Timing(Timing::AvailableNow { needed_by: None })),
        ("Nu beschikbaar".into(), "Available now".into())
    );
    assert_eq!(
        texts(Reason::Price(PriceFit::Priced {
            amount: 1250,
            currency: "EUR".into(),
            unit: Unit::Piece,
            limit: Some((1500, Unit::Piece))
        })),
        (
            "12,50 EUR per stuk, binnen uw maximum van 15,00 EUR per stuk".into(),
            "12.50 EUR per piece, within your limit of 15.00 EUR per piece".into()
        )
    );
    assert_eq!(
        texts(Reason::Price(PriceFit::Free)),
        ("Gratis".into(), "Free".into())
    );
    assert_eq!(
        texts(Reason::Condition {
            condition: Condition::AsNew,
            min: Some(Condition::Good)
        }),
        (
            "Staat: als nieuw (u vroeg minstens goed)".into(),
            "Condition: as new (you asked for at least good)".into()
        )
    );
}

mod bundles {
    use super::*;

    fn lot(n: u128, donor: u128, amount: i64, km: f64) -> Offer {
        let mut offer = offer();
        offer.id = id(2000 + n);
        offer.organisation_id = id(3000 + donor);
        offer.quantity_available = amount;
        offer.location = north_of(HOME, km);
        offer
    }

    fn takes(bundle: &Bundle) -> Vec<(Uuid, i64)> {
        bundle
            .parts
            .iter()
            .map(|part| (part.offer_id, part.take.amount))
            .collect()
    }

    #[test]
    fn twenty_doors_from_lots_of_eight_seven_and_six() {
        let lots = [lot(1, 1, 8, 3.0), lot(2, 2, 7, 2.0), lot(3, 3, 6, 1.0)];
        let bundle = bundle(&wish(), &lots, &tree(), now()).unwrap();
        assert_eq!(
            takes(&bundle),
            [(id(2001), 8), (id(2002), 7), (id(2003), 5)]
        );
        assert_eq!(bundle.covered, 20);
        assert_eq!(bundle.pickups, 3);
        assert_eq!(bundle.donors, 3);
        assert_eq!(bundle.category_id, INTERIOR_DOORS);
        assert!((bundle.total_distance_km - 6.0).abs() < 1e-6);
    }

    #[test]
    fn no_bundle_when_the_lots_cannot_cover_or_one_lot_does() {
        let short = [lot(1, 1, 8, 1.0), lot(2, 2, 7, 1.0), lot(3, 3, 4, 1.0)];
        assert_eq!(bundle(&wish(), &short, &tree(), now()), None);
        let one = [lot(1, 1, 8, 1.0), lot(2, 2, 20, 9.0)];
        assert_eq!(bundle(&wish(), &one, &tree(), now()), None);
        assert_eq!(bundle(&wish(), &[], &tree(), now()), None);
    }

    #[test]
    fn lots_that_do_not_match_or_differ_in_category_do_not_mix() {
        let mut exterior = lot(3, 3, 6, 1.0);
        exterior.category_id = EXTERIOR_DOORS;
        let mut far = lot(4, 4, 6, 1.0);
        far.location = north_of(HOME, 11.0);
        let lots = [lot(1, 1, 8, 1.0), lot(2, 2, 7, 1.0), exterior, far];
        assert_eq!(bundle(&wish(), &lots, &tree(), now()), None);
    }

    #[test]
    fn improvement_swaps_a_far_lot_for_a_near_one() {
        let mut wish = wish();
        wish.quantity.amount = 10;
        let lots = [lot(1, 1, 6, 9.0), lot(2, 2, 5, 1.0), lot(3, 3, 5, 2.0)];
        let bundle = bundle(&wish, &lots, &tree(), now()).unwrap();
        assert_eq!(takes(&bundle), [(id(2002), 5), (id(2003), 5)]);
        assert!((bundle.total_distance_km - 3.0).abs() < 1e-6);
    }

    #[test]
    fn at_most_ten_donors() {
        let mut wish = wish();
        wish.quantity.amount = 11;
        let lots: Vec<Offer> = (0..12).map(|n| lot(n, n, 1, 1.0)).collect();
        assert_eq!(bundle(&wish, &lots, &tree(), now()), None);
        wish.quantity.amount = 10;
        let bundle = bundle(&wish, &lots, &tree(), now()).unwrap();
        assert_eq!((bundle.pickups, bundle.donors), (10, 10));
    }

    #[test]
    fn falls_back_to_the_richest_donors_when_greedy_runs_out_of_donors() {
        // Ten donors with one lot of 5 are taken first by size, but a cover of 85 needs the
        // donor with ten lots of 4.
        let mut wish = wish();
        wish.quantity.amount = 85;
        let mut lots: Vec<Offer> = (0..10).map(|n| lot(n, n, 5, 1.0)).collect();
        lots.extend((10..20).map(|n| lot(n, 99, 4, 1.0)));
        let bundle = bundle(&wish, &lots, &tree(), now()).unwrap();
        assert_eq!(bundle.covered, 85);
        assert_eq!(bundle.pickups, 19);
        assert_eq!(bundle.donors, 10);
    }

    #[test]
    fn a_wish_by_mass_is_covered_in_grams() {
        let mut wish = wish();
        wish.quantity = Quantity {
            amount: 500,
            unit: Unit::Kg,
        };
        // Doors of 32 kg: 8 + 7 doors are 480 kg; one door of the third lot completes it.
        let lots = [lot(1, 1, 8, 1.0), lot(2, 2, 7, 1.0), lot(3, 3, 6, 1.0)];
        let bundle = bundle(&wish, &lots, &tree(), now()).unwrap();
        assert_eq!(
            takes(&bundle),
            [(id(2001), 8), (id(2002), 7), (id(2003), 1)]
        );
        assert_eq!(bundle.covered, 512);
    }
}

mod index_equals_scan {
    use super::*;
    use crate::domain::matching::grid;
    use proptest::prelude::*;
    use proptest::sample::select;
    use std::collections::BTreeMap;

    const REGIONS: [Location; 3] = [
        HOME,
        Location {
            lat: 0.02,
            lon: 179.97,
        },
        Location {
            lat: 89.96,
            lon: 10.0,
        },
    ];

    fn category(n: u8) -> Uuid {
        id(u128::from(n) + 1)
    }

    /// A forest of up to seven categories, each pointing at an earlier one or nowhere.
    fn arb_tree() -> impl Strategy<Value = CategoryTree> {
        prop::collection::vec(prop::option::weighted(0.8, 0u8..7), 7).prop_map(|parents| {
            CategoryTree::new(parents.iter().enumerate().map(|(i, parent)| {
                (
                    category(i as u8),
                    parent.filter(|&p| usize::from(p) < i).map(category),
                )
            }))
        })
    }

    /// Mostly one of the first four, which the others tend to lie below; now and then one the
    /// tree does not know.
    fn arb_category() -> impl Strategy<Value = u8> {
        prop_oneof![4 => 0u8..4, 2 => 4u8..7, 1 => Just(7u8)]
    }

    /// Anywhere in one region, or on a cell's corner there, or just beside it.
    fn arb_location() -> impl Strategy<Value = Location> {
        let nudge = select(vec![0.0, 1e-12, -1e-12, 1e-7, -1e-7, 1e-4]);
        prop_oneof![
            3 => (region(), -0.1..0.1f64, -0.15..0.15f64).prop_map(|(region, dlat, dlon)| {
                let at = REGIONS[region];
                Location {
                    lat: (at.lat + dlat).clamp(-90.0, 90.0),
                    lon: wrap(at.lon + dlon),
                }
            }),
            2 => (region(), -3..3i32, -3..3i32, nudge.clone(), nudge).prop_map(
                |(region, rows, cols, dlat, dlon)| {
                    let corner = grid::corner(REGIONS[region], rows, cols);
                    Location {
                        lat: (corner.lat + dlat).clamp(-90.0, 90.0),
                        lon: wrap(corner.lon + dlon),
                    }
                }
            ),
        ]
    }

    /// Mostly Den Haag; the date line and the north pole now and then.
    fn region() -> impl Strategy<Value = usize> {
        prop_oneof![6 => Just(0usize), 1 => Just(1usize), 1 => Just(2usize)]
    }

    fn wrap(lon: f64) -> f64 {
        if lon > 180.0 {
            lon - 360.0
        } else if lon < -180.0 {
            lon + 360.0
        } else {
            lon
        }
    }

    fn arb_radius() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => 0.0..25.0f64,
            1 => select(vec![0.0, 5.0, 2.5, 7.5, 120.0, -1.0, f64::NAN, f64::INFINITY, 30_000.0]),
        ]
    }

    const KEYWORDS: [&str; 10] = [
        "deur",
        "Deuren",
        "eik",
        "EIKEN DEUR",
        "hout",
        "één",
        "x",
        "-",
        "ab cd",
        "eikenhouten",
    ];
    const PHRASES: [&str; 8] = [
        "eikenhouten deuren",
        "deur",
        "eiken deur",
        "één",
        "grenen",
        "ab cdef",
        "x-ray",
        "",
    ];

    fn arb_range() -> impl Strategy<Value = MmRange> {
        prop_oneof![
            5 => Just(MmRange::default()),
            1 => (prop::option::of(0..3000i32), prop::option::of(0..3000i32))
                .prop_map(|(min, max)| MmRange { min, max }),
        ]
    }

    fn arb_unit() -> impl Strategy<Value = Unit> {
        prop_oneof![12 => Just(Unit::Piece), 2 => Just(Unit::Kg), 1 => Just(Unit::T), 1 => Just(Unit::M2)]
    }

    fn arb_price() -> impl Strategy<Value = UnitPrice> {
        (select(vec!["EUR", "HAGS"]), 0..2000i64).prop_map(|(currency, amount)| UnitPrice {
            currency: currency.into(),
            amount,
        })
    }

    fn arb_wish() -> impl Strategy<Value = Wish> {
        (
            (arb_category(), 0..12u128),
            prop_oneof![2 => Just(vec![]), 1 => prop::collection::vec(select(KEYWORDS.to_vec()), 1..3)],
            (arb_range(), arb_range(), arb_range()),
            prop::option::weighted(0.3, select(Condition::ALL.to_vec())),
            (1..40i64, arb_unit()),
            (arb_location(), arb_radius()),
            prop::option::of(-3..60i64),
            prop_oneof![2 => Just(vec![]), 1 => prop::collection::vec(arb_price(), 1..3)],
            prop::bool::weighted(0.7),
        )
            .prop_map(
                |(
                    (category_n, n),
                    keywords,
                    (length_mm, width_mm, height_mm),
                    condition_min,
                    (amount, unit),
                    (near, radius_km),
                    needed_by,
                    max_price,
                    include_announced,
                )| Wish {
                    id: id(n),
                    category_id: category(category_n),
                    keywords: keywords.into_iter().map(String::from).collect(),
                    attributes: AttributeBounds {
                        length_mm,
                        width_mm,
                        height_mm,
                    },
                    condition_min,
                    quantity: Quantity { amount, unit },
                    near,
                    radius_km,
                    needed_by: needed_by.map(|d| now() + days(d)),
                    max_price,
                    include_announced,
                },
            )
    }

    fn arb_offer() -> impl Strategy<Value = Offer> {
        (
            (arb_category(), 0..12u128),
            prop::collection::vec(select(PHRASES.to_vec()), 0..3),
            prop::collection::vec(prop::option::weighted(0.8, 0..3000i32), 3),
            select(Condition::ALL.to_vec()),
            (
                0..40i64,
                arb_unit(),
                prop::option::weighted(0.8, 0..50_000i64),
            ),
            arb_location(),
            prop_oneof![
                5 => Just(ListingStatus::Available),
                3 => Just(ListingStatus::Announced),
                1 => select(ListingStatus::ALL.to_vec()),
            ],
            -10..60i64,
            prop::option::weighted(0.5, arb_price()),
        )
            .prop_map(
                |(
                    (category_n, n),
                    phrases,
                    dimensions,
                    condition,
                    (quantity_available, unit, grams_per_unit),
                    location,
                    status,
                    available_in,
                    price,
                )| Offer {
                    id: id(100 + n),
                    organisation_id: id(200 + n % 3),
                    category_id: category(category_n),
                    words: Offer::words_of(phrases),
                    dimensions: Dimensions {
                        length_mm: dimensions[0],
                        width_mm: dimensions[1],
                        height_mm: dimensions[2],
                    },
                    condition,
                    quantity_available,
                    unit,
                    grams_per_unit,
                    location,
                    status,
                    available_from: now() + days(available_in),
                    price,
                },
            )
    }

    /// A point `km` from `from` on a bearing (radians), on the sphere of [`distance_km`].
    fn destination(from: Location, bearing: f64, km: f64) -> Location {
        let (lat, lon) = (from.lat.to_radians(), from.lon.to_radians());
        let angle = km / EARTH_RADIUS_KM;
        let lat2 = (lat.sin() * angle.cos() + lat.cos() * angle.sin() * bearing.cos()).asin();
        let lon2 = lon
            + (bearing.sin() * angle.sin() * lat.cos()).atan2(angle.cos() - lat.sin() * lat2.sin());
        Location {
            lat: lat2.to_degrees().clamp(-90.0, 90.0),
            lon: wrap(lon2.to_degrees()),
        }
    }

    fn debug<T: std::fmt::Debug>(value: T) -> String {
        format!("{value:?}")
    }

    fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
        ids.sort_unstable();
        ids
    }

    fn assert_wish_index(
        index: &MatchIndex,
        model: &BTreeMap<Uuid, Wish>,
        offer: &Offer,
        tree: &CategoryTree,
    ) -> Result<(), TestCaseError> {
        let found = sorted(index.matching(offer, tree, now()));
        let expected = sorted(scan_wishes(model.values(), offer, tree, now()));
        prop_assert_eq!(&found, &expected, "offer {:?}", offer);
        let candidates = sorted(index.candidates(offer, tree).map(|w| w.id).collect());
        let mut unique = candidates.clone();
        unique.dedup();
        prop_assert_eq!(&candidates, &unique, "a wish met twice");
        prop_assert!(
            found.iter().all(|id| candidates.binary_search(id).is_ok()),
            "a match that is not a candidate"
        );
        prop_assert!(index.checked_in_full(offer, tree, now()) <= candidates.len());
        Ok(())
    }

    #[derive(Debug, Clone)]
    enum Step {
        Insert(Wish),
        /// A wish whose circle passes exactly through a cell corner (moved by `nudge`), which
        /// lies at `bearing` (degrees) from its centre `km` away.
        InsertOnRim {
            wish: Wish,
            region: usize,
            rows: i32,
            cols: i32,
            nudge: (f64, f64),
            bearing: f64,
            km: f64,
        },
        Remove(u128),
    }

    fn arb_step() -> impl Strategy<Value = Step> {
        let nudge = select(vec![0.0, 1e-12, -1e-12, 1e-9]);
        prop_oneof![
            4 => arb_wish().prop_map(Step::Insert),
            2 => (
                arb_wish(),
                region(),
                -2..2i32,
                -2..2i32,
                (nudge.clone(), nudge),
                prop_oneof![3 => select(vec![0.0, 90.0, 180.0, 270.0]), 1 => 0.0..360.0f64],
                prop_oneof![0.0..25.0f64, Just(0.0)],
            )
                .prop_map(|(wish, region, rows, cols, nudge, bearing, km)| Step::InsertOnRim {
                    wish,
                    region,
                    rows,
                    cols,
                    nudge,
                    bearing,
                    km,
                }),
            1 => (0..12u128).prop_map(Step::Remove),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn the_wish_index_finds_what_the_scan_finds(
            tree in arb_tree(),
            steps in prop::collection::vec(arb_step(), 0..40),
            offers in prop::collection::vec(arb_offer(), 1..8),
            bearings in prop::collection::vec(0.0..std::f64::consts::TAU, 4),
            scale in select(vec![1.0, 1.0 - 1e-9, 1.0 + 1e-9, 0.5]),
        ) {
            let mut index = MatchIndex::new();
            let mut model = BTreeMap::new();
            let mut rim_points = Vec::new();
            for step in steps {
                match step {
                    Step::InsertOnRim { mut wish, region, rows, cols, nudge, bearing, km } => {
                        let corner = grid::corner(REGIONS[region], rows, cols);
                        let point = Location {
                            lat: (corner.lat + nudge.0).clamp(-90.0, 90.0),
                            lon: wrap(corner.lon + nudge.1),
                        };
                        wish.near = destination(point, (bearing + 180.0).to_radians(), km);
                        wish.radius_km = distance_km(wish.near, point);
                        rim_points.push(point);
                        let replaced = index.insert(wish.clone());
                        prop_assert_eq!(debug(replaced), debug(model.insert(wish.id, wish)));
                    }
                    Step::Insert(wish) => {
                        let replaced = index.insert(wish.clone());
                        // Debug text, since a NaN radius is not equal to itself.
                        prop_assert_eq!(debug(replaced), debug(model.insert(wish.id, wish)));
                    }
                    Step::Remove(n) => {
                        prop_assert_eq!(debug(index.remove(id(n))), debug(model.remove(&id(n))));
                    }
                }
                prop_assert_eq!(index.len(), model.len());
            }
            for offer in &offers {
                assert_wish_index(&index, &model, offer, &tree)?;
                for &point in &rim_points {
                    let mut moved = offer.clone();
                    moved.location = point;
                    assert_wish_index(&index, &model, &moved, &tree)?;
                }
                // The same offer on and around the rim of each wish's circle.
                for wish in model.values() {
                    if !(wish.radius_km.is_finite() && wish.radius_km >= 0.0) {
                        continue;
                    }
                    for &bearing in &bearings {
                        let mut moved = offer.clone();
                        moved.location = destination(wish.near, bearing, wish.radius_km * scale);
                        assert_wish_index(&index, &model, &moved, &tree)?;
                    }
                }
            }
            // Emptied, the index holds nothing.
            for wish_id in model.keys() {
                index.remove(*wish_id);
            }
            prop_assert!(index.buckets_are_empty());
        }

        #[test]
        fn the_offer_index_finds_what_the_scan_finds(
            tree in arb_tree(),
            offers in prop::collection::vec(arb_offer(), 0..40),
            removals in prop::collection::vec(0..12u128, 0..5),
            wishes in prop::collection::vec(arb_wish(), 1..8),
        ) {
            let mut index = OfferIndex::new();
            let mut model = BTreeMap::new();
            for offer in offers {
                prop_assert_eq!(debug(index.insert(offer.clone())), debug(model.insert(offer.id, offer)));
            }
            for n in removals {
                prop_assert_eq!(debug(index.remove(id(100 + n))), debug(model.remove(&id(100 + n))));
            }
            prop_assert_eq!(index.len(), model.len());
            for wish in &wishes {
                let found = sorted(index.matching(wish, &tree, now()));
                let expected = sorted(scan_offers(model.values(), wish, &tree, now()));
                prop_assert_eq!(found, expected, "wish {:?}", wish);
            }
        }
    }
}
