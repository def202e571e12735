//! Benchmark P1: matching a new listing against 10^4, 10^5 and 10^6 random active wishes, through
//! the candidate index and by the plain scan, in the same run.
//!
//! The data: about 100 categories in a tree of depth 3 (4 roots, 16 groups, 80 leaves); wishes
//! on a leaf (80 %), a group (15 %) or a root (5 %); wishes and listings spread evenly over a
//! 30 km × 30 km square around Den Haag (52.07, 4.30); radius 1–20 km; half the wishes with one
//! or two keywords from a vocabulary of 40 words; some with size bounds, a minimum condition, a
//! needed-by date or a price limit; listings on leaves, 30 % of them announced.
//!
//! So dense a region makes each listing match about 0.2 % of all wishes (some 2 000 of 10^6),
//! and the index's cost grows with that. A second run spreads 10^6 of the same wishes over a
//! 300 km × 300 km square, the size of the Netherlands, for comparison.
//!
//! `P1_SIZES=10000,100000` limits the region's sizes; `P1_SPREAD=0` skips the second run.

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use kringloop::domain::geo::Location;
use kringloop::domain::listing::ListingStatus;
use kringloop::domain::matching::{
    scan_wishes, AttributeBounds, CategoryTree, MatchIndex, MmRange, Offer, UnitPrice, Wish,
};
use kringloop::domain::passport::{Condition, Dimensions};
use kringloop::domain::quantity::{Quantity, Unit};
use std::hint::black_box;
use std::time::Instant;
use uuid::Uuid;

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
const OFFERS: usize = 1_000;
const CENTRE: Location = Location {
    lat: 52.07,
    lon: 4.30,
};

/// Half the side of the square the points lie in: the region, and the country.
const REGION_HALF_SIDE_KM: f64 = 15.0;
const COUNTRY_HALF_SIDE_KM: f64 = 150.0;

const VOCABULARY: [&str; 40] = [
    "eiken",
    "grenen",
    "vuren",
    "meranti",
    "staal",
    "aluminium",
    "glas",
    "dubbelglas",
    "hr",
    "baksteen",
    "klinker",
    "beton",
    "gips",
    "hout",
    "massief",
    "hardhout",
    "zachthout",
    "wit",
    "zwart",
    "grijs",
    "geverfd",
    "onbehandeld",
    "gelakt",
    "oud",
    "nieuw",
    "modern",
    "antiek",
    "industrieel",
    "groot",
    "klein",
    "zwaar",
    "licht",
    "rond",
    "recht",
    "gebogen",
    "geisoleerd",
    "brandwerend",
    "draaibaar",
    "schuif",
    "dubbel",
];

/// SplitMix64: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next(), self.next())
    }
}

struct World {
    tree: CategoryTree,
    roots: Vec<Uuid>,
    groups: Vec<Uuid>,
    leaves: Vec<Uuid>,
    donors: Vec<Uuid>,
    now: DateTime<Utc>,
}

fn world(rng: &mut Rng) -> World {
    let mut edges = Vec::new();
    let (mut roots, mut groups, mut leaves) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..4 {
        let root = rng.uuid();
        roots.push(root);
        edges.push((root, None));
        for _ in 0..4 {
            let group = rng.uuid();
            groups.push(group);
            edges.push((group, Some(root)));
            for _ in 0..5 {
                let leaf = rng.uuid();
                leaves.push(leaf);
                edges.push((leaf, Some(group)));
            }
        }
    }
    World {
        tree: CategoryTree::new(edges),
        roots,
        groups,
        leaves,
        donors: (0..2_000).map(|_| rng.uuid()).collect(),
        now: Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap(),
    }
}

fn location(rng: &mut Rng, half_side_km: f64) -> Location {
    let km_per_deg_lat = 111.195;
    let km_per_deg_lon = km_per_deg_lat * CENTRE.lat.to_radians().cos();
    Location {
        lat: CENTRE.lat + (rng.unit() * 2.0 - 1.0) * half_side_km / km_per_deg_lat,
        lon: CENTRE.lon + (rng.unit() * 2.0 - 1.0) * half_side_km / km_per_deg_lon,
    }
}

fn wish(rng: &mut Rng, world: &World, half_side_km: f64) -> Wish {
    let roll = rng.unit();
    let category_id = *if roll < 0.80 {
        rng.pick(&world.leaves)
    } else if roll < 0.95 {
        rng.pick(&world.groups)
    } else {
        rng.pick(&world.roots)
    };
    let keywords = match rng.unit() {
        r if r < 0.50 => 0,
        r if r < 0.85 => 1,
        _ => 2,
    };
    let mut attributes = AttributeBounds::default();
    if rng.chance(0.3) {
        let min = rng.range(500, 2500) as i32;
        let range = MmRange {
            min: Some(min),
            max: Some(min + rng.range(100, 1000) as i32),
        };
        match rng.below(3) {
            0 => attributes.length_mm = range,
            1 => attributes.width_mm = range,
            _ => attributes.height_mm = range,
        }
    }
    let quantity = if rng.chance(0.9) {
        Quantity {
            amount: rng.range(1, 50),
            unit: Unit::Piece,
        }
    } else {
        Quantity {
            amount: rng.range(10, 1000),
            unit: Unit::Kg,
        }
    };
    let mut max_price = Vec::new();
    if rng.chance(0.4) {
        max_price.push(UnitPrice {
            currency: "EUR".into(),
            amount: rng.range(0, 10_000),
        });
        if rng.chance(0.3) {
            max_price.push(UnitPrice {
                currency: "HAGS".into(),
                amount: rng.range(0, 10_000),
            });
        }
    }
    Wish {
        id: rng.uuid(),
        category_id,
        keywords: (0..keywords)
            .map(|_| rng.pick(&VOCABULARY).to_string())
            .collect(),
        attributes,
        condition_min: rng.chance(0.6).then(|| *rng.pick(Condition::ALL)),
        quantity,
        near: location(rng, half_side_km),
        radius_km: 1.0 + rng.unit() * 19.0,
        needed_by: rng
            .chance(0.5)
            .then(|| world.now + Duration::days(rng.range(1, 365))),
        max_price,
        include_announced: rng.chance(0.6),
    }
}

fn offer(rng: &mut Rng, world: &World, half_side_km: f64) -> Offer {
    let category_id = *rng.pick(&world.leaves);
    let words: Vec<&str> = (0..3).map(|_| *rng.pick(&VOCABULARY)).collect();
    let title = format!("partij {}", words.join(" "));
    let dimension = |rng: &mut Rng| rng.chance(0.8).then(|| rng.range(200, 3000) as i32);
    let dimensions = Dimensions {
        length_mm: dimension(rng),
        width_mm: dimension(rng),
        height_mm: dimension(rng),
    };
    let (quantity_available, unit) = if rng.chance(0.9) {
        (rng.range(1, 50), Unit::Piece)
    } else {
        (rng.range(10, 5000), Unit::Kg)
    };
    let announced = rng.chance(0.3);
    let price = match rng.unit() {
        r if r < 0.5 => None,
        r if r < 0.9 => Some(UnitPrice {
            currency: "EUR".into(),
            amount: rng.range(100, 10_000),
        }),
        _ => Some(UnitPrice {
            currency: "HAGS".into(),
            amount: rng.range(100, 5_000),
        }),
    };
    Offer {
        id: rng.uuid(),
        organisation_id: *rng.pick(&world.donors),
        category_id,
        words: Offer::words_of([title.as_str()]),
        dimensions,
        condition: *rng.pick(Condition::ALL),
        quantity_available,
        unit,
        grams_per_unit: rng.chance(0.8).then(|| rng.range(1_000, 80_000)),
        location: location(rng, half_side_km),
        status: if announced {
            ListingStatus::Announced
        } else {
            ListingStatus::Available
        },
        available_from: if announced {
            world.now + Duration::days(rng.range(1, 120))
        } else {
            world.now - Duration::days(rng.range(0, 30))
        },
        price,
    }
}

/// Nanoseconds this thread has run on a CPU (Linux), so that rates can be given per CPU-second
/// as well: on a machine shared with other work, wall time also counts the waits for a core.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Runs `work` over `n` listings: listings per wall second and per CPU-second of this thread.
fn rate(n: usize, work: impl FnOnce()) -> (f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_ns());
    work();
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu_s = cpu
        .zip(cpu_ns())
        .map_or(wall_s, |(from, to)| (to - from) as f64 / 1e9);
    (n as f64 / wall_s, n as f64 / cpu_s)
}

struct Line {
    area: &'static str,
    wishes: usize,
    index_per_s: f64,
    scan_per_s: f64,
    index_per_cpu_s: f64,
    scan_per_cpu_s: f64,
    entries: f64,
    candidates: f64,
    checked: f64,
    matches: f64,
    bytes_per_wish: f64,
    build_s: f64,
}

fn p1(c: &mut Criterion) {
    let mut rng = Rng(0x6b72_696e_676c_6f6f);
    let world = world(&mut rng);
    let sizes: Vec<usize> = match std::env::var("P1_SIZES") {
        Ok(list) => list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
        Err(_) => SIZES.to_vec(),
    };
    let mut runs: Vec<(&'static str, f64, usize)> = sizes
        .into_iter()
        .map(|size| ("30 km", REGION_HALF_SIDE_KM, size))
        .collect();
    if std::env::var("P1_SPREAD").as_deref() != Ok("0") {
        runs.push(("300 km", COUNTRY_HALF_SIDE_KM, 1_000_000));
    }
    let mut lines = Vec::new();
    for (area, half_side_km, size) in runs {
        let offers: Vec<Offer> = (0..OFFERS)
            .map(|_| offer(&mut rng, &world, half_side_km))
            .collect();
        let wishes: Vec<Wish> = (0..size)
            .map(|_| wish(&mut rng, &world, half_side_km))
            .collect();
        let started = Instant::now();
        let mut index = MatchIndex::new();
        for wish in &wishes {
            index.insert(wish.clone());
        }
        let build_s = started.elapsed().as_secs_f64();
        let (tree, now) = (&world.tree, world.now);

        // The index must agree with the scan here too.
        for offer in offers.iter().take(5) {
            let mut found = index.matching(offer, tree, now);
            let mut expected = scan_wishes(&wishes, offer, tree, now);
            found.sort_unstable();
            expected.sort_unstable();
            assert_eq!(found, expected);
        }
        let entries: usize = offers.iter().map(|o| index.entries_read(o, tree)).sum();
        let candidates: usize = offers
            .iter()
            .map(|o| index.candidates(o, tree).count())
            .sum();
        let checked: usize = offers
            .iter()
            .map(|o| index.checked_in_full(o, tree, now))
            .sum();
        let mut matched = 0;
        // Five rounds, so that the fast cases run long enough to time.
        let (index_per_s, index_per_cpu_s) = rate(5 * OFFERS, || {
            for _ in 0..5 {
                matched = offers
                    .iter()
                    .map(|o| black_box(index.matching(o, tree, now)).len())
                    .sum();
            }
        });
        let scanned = (20_000_000 / size).clamp(10, OFFERS);
        let (scan_per_s, scan_per_cpu_s) = rate(scanned, || {
            for offer in offers.iter().take(scanned) {
                black_box(scan_wishes(&wishes, offer, tree, now));
            }
        });
        lines.push(Line {
            area,
            wishes: size,
            index_per_s,
            scan_per_s,
            index_per_cpu_s,
            scan_per_cpu_s,
            entries: entries as f64 / OFFERS as f64,
            candidates: candidates as f64 / OFFERS as f64,
            checked: checked as f64 / OFFERS as f64,
            matches: matched as f64 / OFFERS as f64,
            bytes_per_wish: index.approx_heap_bytes() as f64 / size as f64,
            build_s,
        });

        let prefix = if half_side_km == REGION_HALF_SIDE_KM {
            "p1"
        } else {
            "p1_300km"
        };
        let mut group = c.benchmark_group(format!("{prefix}/{size}_wishes"));
        group.throughput(Throughput::Elements(1));
        let mut next = 0;
        group.bench_function("index", |b| {
            b.iter(|| {
                next = (next + 1) % OFFERS;
                black_box(index.matching(&offers[next], tree, now))
            })
        });
        group.sampling_mode(SamplingMode::Flat).sample_size(10);
        group.bench_function("scan", |b| {
            b.iter(|| {
                next = (next + 1) % OFFERS;
                black_box(scan_wishes(&wishes, &offers[next], tree, now))
            })
        });
        group.finish();
    }

    println!();
    println!(
        "P1 summary: {OFFERS} random listings through the index five times, the scan on a subset; one thread"
    );
    println!(
        "{:>6} | {:>9} | {:>10} | {:>9} | {:>6} | {:>10} | {:>9} | {:>6} | {:>12} | {:>11} | {:>11} | {:>11} | {:>10} | {:>7}",
        "square",
        "wishes",
        "index",
        "scan",
        "ratio",
        "index",
        "scan",
        "ratio",
        "entries read",
        "candidates",
        "full checks",
        "matches",
        "bytes/wish",
        "build"
    );
    println!(
        "{:>6} | {:>9} | {:>10} | {:>9} | {:>6} | {:>10} | {:>9} | {:>6} | {:>12} | {:>11} | {:>11} | {:>11} | {:>10} | {:>7}",
        "",
        "",
        "listings/s",
        "listings/s",
        "wall",
        "/ CPU-s",
        "/ CPU-s",
        "CPU",
        "per listing",
        "per listing",
        "per listing",
        "per listing",
        "",
        "s"
    );
    for line in &lines {
        println!(
            "{:>6} | {:>9} | {:>10.0} | {:>9.1} | {:>5.0}× | {:>10.0} | {:>9.1} | {:>5.0}× | {:>12.0} | {:>11.0} | {:>11.1} | {:>11.1} | {:>10.0} | {:>7.1}",
            line.area,
            line.wishes,
            line.index_per_s,
            line.scan_per_s,
            line.index_per_s / line.scan_per_s,
            line.index_per_cpu_s,
            line.scan_per_cpu_s,
            line.index_per_cpu_s / line.scan_per_cpu_s,
            line.entries,
            line.candidates,
            line.checked,
            line.matches,
            line.bytes_per_wish,
            line.build_s
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = p1
}
criterion_main!(benches);
