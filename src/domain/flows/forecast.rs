//! Monthly supply forecasts: simple exponential smoothing, Croston's method with the
//! Syntetos–Boylan correction (for intermittent series) and the seasonal naive, chosen per
//! series by a rolling-origin back-test, with 80 % and 95 % prediction intervals and the
//! back-test's MASE and interval coverage.

use serde::Serialize;

/// A year of months: the seasonal period.
pub const SEASON: usize = 12;
const Z80: f64 = 1.2816;
const Z95: f64 = 1.9600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Simple exponential smoothing, its weight fitted by least squares.
    Ses,
    /// Croston's method with the Syntetos–Boylan approximation.
    CrostonSba,
    /// The value a season ago (a month ago while the history is shorter than a season).
    SeasonalNaive,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Ses, Method::CrostonSba, Method::SeasonalNaive];
}

/// A fitted model: where it stands after the history, and how its spread grows with the
/// horizon.
#[derive(Debug, Clone)]
struct Fit {
    method: Method,
    /// The flat forecast (SES, Croston) or the last season (seasonal naive).
    level: Vec<f64>,
    alpha: f64,
}

impl Fit {
    fn point(&self, h: usize) -> f64 {
        match self.method {
            Method::SeasonalNaive => self.level[(h - 1) % self.level.len()],
            _ => self.level[0],
        }
    }

    /// How much wider than the one-step spread the interval is `h` months ahead.
    fn widen(&self, h: usize) -> f64 {
        match self.method {
            Method::SeasonalNaive => (((h - 1) / self.level.len()) as f64 + 1.0).sqrt(),
            _ => (1.0 + (h as f64 - 1.0) * self.alpha * self.alpha).sqrt(),
        }
    }
}

fn ses_level(y: &[f64], alpha: f64) -> (f64, f64) {
    let mut level = y[0];
    let mut sse = 0.0;
    for &v in &y[1..] {
        sse += (v - level).powi(2);
        level += alpha * (v - level);
    }
    (level, sse)
}

fn croston_sba(y: &[f64], alpha: f64) -> f64 {
    let mut size = None::<f64>;
    let mut interval = None::<f64>;
    let mut since = 1.0;
    for &v in y {
        if v > 0.0 {
            size = Some(size.map_or(v, |z| z + alpha * (v - z)));
            interval = Some(interval.map_or(since, |p| p + alpha * (since - p)));
            since = 1.0;
        } else {
            since += 1.0;
        }
    }
    match (size, interval) {
        (Some(z), Some(p)) => (1.0 - alpha / 2.0) * z / p,
        _ => 0.0,
    }
}

fn fit(method: Method, y: &[f64]) -> Fit {
    match method {
        Method::Ses => {
            let alpha = (1..=20)
                .map(|i| f64::from(i) * 0.05)
                .min_by(|a, b| ses_level(y, *a).1.total_cmp(&ses_level(y, *b).1))
                .unwrap_or(0.3);
            Fit {
                method,
                level: vec![ses_level(y, alpha).0],
                alpha,
            }
        }
        Method::CrostonSba => Fit {
            method,
            level: vec![croston_sba(y, 0.1)],
            alpha: 0.1,
        },
        Method::SeasonalNaive => {
            let m = if y.len() >= SEASON { SEASON } else { 1 };
            Fit {
                method,
                level: y[y.len() - m..].to_vec(),
                alpha: 1.0,
            }
        }
    }
}

/// How a method did on held-out months.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BackTest {
    pub method: Method,
    /// Mean absolute error scaled by the in-sample seasonal naive's (below 1 beats it).
    pub mase: f64,
    /// The seasonal naive's MASE over the same held-out months, for comparison.
    pub naive_mase: f64,
    /// Share of held-out months inside the 80 % and 95 % intervals.
    pub coverage_80: f64,
    pub coverage_95: f64,
    pub held_out: usize,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Step {
    /// Months ahead, from 1.
    pub ahead: usize,
    pub mean: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
    /// Supply already announced for that month, a floor under the forecast.
    pub announced: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    pub steps: Vec<Step>,
    pub back_test: Option<BackTest>,
}

/// The in-sample mean absolute error of the seasonal naive, MASE's scale.
fn naive_scale(y: &[f64]) -> f64 {
    let m = if y.len() > SEASON { SEASON } else { 1 };
    let diffs: Vec<f64> = y.windows(m + 1).map(|w| (w[m] - w[0]).abs()).collect();
    let scale = diffs.iter().sum::<f64>() / diffs.len().max(1) as f64;
    if scale > 0.0 {
        scale
    } else {
        1.0
    }
}

/// One-step forecasts from rolling origins over the last `held` months: (actual, forecast).
fn rolling(method: Method, y: &[f64], held: usize) -> Vec<(f64, f64)> {
    (y.len() - held..y.len())
        .map(|origin| (y[origin], fit(method, &y[..origin]).point(1)))
        .collect()
}

fn rmse(pairs: &[(f64, f64)]) -> f64 {
    (pairs.iter().map(|(a, f)| (a - f).powi(2)).sum::<f64>() / pairs.len().max(1) as f64).sqrt()
}

/// The shortest history worth a back-test: two fitted months and the held-out ones.
pub const MIN_HISTORY: usize = 6;

/// Forecasts `horizon` months after `history` (oldest first), with `announced[h-1]` the supply
/// already announced `h` months ahead. Each method is back-tested from rolling origins over the
/// last third of the history (at most a year); the one with the lowest error is used, and its
/// one-step errors set the intervals.
pub fn forecast(history: &[f64], announced: &[f64], horizon: usize) -> Forecast {
    let y: Vec<f64> = history.iter().map(|v| v.max(0.0)).collect();
    let announced_at = |h: usize| announced.get(h - 1).copied().unwrap_or(0.0).max(0.0);
    if y.len() < MIN_HISTORY {
        let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
        return Forecast {
            steps: (1..=horizon)
                .map(|h| {
                    let point = mean.max(announced_at(h));
                    Step {
                        ahead: h,
                        mean: point,
                        lo80: announced_at(h),
                        hi80: point * 2.0,
                        lo95: announced_at(h),
                        hi95: point * 3.0,
                        announced: announced_at(h),
                    }
                })
                .collect(),
            back_test: None,
        };
    }
    let held = (y.len() / 3).clamp(2, SEASON);
    let scale = naive_scale(&y[..y.len() - held]);
    let mae = |pairs: &[(f64, f64)]| {
        pairs.iter().map(|(a, f)| (a - f).abs()).sum::<f64>() / pairs.len() as f64
    };
    let tried: Vec<(Method, Vec<(f64, f64)>)> = Method::ALL
        .iter()
        .map(|&m| (m, rolling(m, &y, held)))
        .collect();
    let naive_mase = tried
        .iter()
        .find(|(m, _)| *m == Method::SeasonalNaive)
        .map_or(f64::NAN, |(_, p)| mae(p) / scale);
    let (method, pairs) = tried
        .into_iter()
        .min_by(|a, b| mae(&a.1).total_cmp(&mae(&b.1)))
        .unwrap_or((Method::SeasonalNaive, Vec::new()));
    let sigma = rmse(&pairs);
    let inside = |z: f64| {
        pairs
            .iter()
            .filter(|(a, f)| (a - f).abs() <= z * sigma + 1e-9)
            .count() as f64
            / pairs.len() as f64
    };
    let back_test = BackTest {
        method,
        mase: mae(&pairs) / scale,
        naive_mase,
        coverage_80: inside(Z80),
        coverage_95: inside(Z95),
        held_out: pairs.len(),
    };
    let model = fit(method, &y);
    let steps = (1..=horizon)
        .map(|h| {
            let point = model.point(h);
            let spread = sigma * model.widen(h);
            // Announced supply will arrive whatever the model says: it lifts the forecast
            // and its interval, and nothing falls below it.
            let floor = announced_at(h);
            let lift = (floor - point).max(0.0);
            let at = |v: f64| (v + lift).max(floor).max(0.0);
            Step {
                ahead: h,
                mean: at(point),
                lo80: at(point - Z80 * spread),
                hi80: at(point + Z80 * spread),
                lo95: at(point - Z95 * spread),
                hi95: at(point + Z95 * spread),
                announced: floor,
            }
        })
        .collect();
    Forecast {
        steps,
        back_test: Some(back_test),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_series_forecasts_itself_with_no_spread() {
        let f = forecast(&[50.0; 24], &[], 6);
        for s in &f.steps {
            assert!((s.mean - 50.0).abs() < 1e-9, "{s:?}");
            assert!((s.hi95 - s.lo95).abs() < 1e-9);
        }
        let bt = f.back_test.unwrap();
        assert!(bt.mase < 1e-9);
        assert_eq!(bt.coverage_95, 1.0);
    }

    #[test]
    fn a_seasonal_series_is_told_by_the_seasonal_naive() {
        let season = [
            10.0, 20.0, 80.0, 40.0, 5.0, 5.0, 60.0, 90.0, 30.0, 10.0, 0.0, 50.0,
        ];
        let history: Vec<f64> = season.iter().cycle().take(36).copied().collect();
        let f = forecast(&history, &[], 12);
        assert_eq!(f.back_test.unwrap().method, Method::SeasonalNaive);
        for s in &f.steps {
            assert!((s.mean - season[s.ahead - 1]).abs() < 1e-9);
        }
    }

    #[test]
    fn an_intermittent_series_gets_croston_sba_demand_per_month() {
        // 120 kg every fourth month: Croston sees size 120 every 4 months, so about
        // (1 − α/2) · 30 = 28.5 kg a month.
        let history: Vec<f64> = (0..40)
            .map(|i| if i % 4 == 3 { 120.0 } else { 0.0 })
            .collect();
        let point = fit(Method::CrostonSba, &history).point(1);
        assert!((point - 28.5).abs() < 0.5, "{point}");
    }

    #[test]
    fn announced_supply_is_a_floor() {
        let f = forecast(&[10.0; 24], &[0.0, 500.0], 3);
        assert!((f.steps[0].mean - 10.0).abs() < 1e-9);
        assert!((f.steps[1].mean - 500.0).abs() < 1e-9);
        assert!(f.steps[1].lo95 >= 500.0);
    }

    #[test]
    fn intervals_nest_and_widen() {
        let history: Vec<f64> = (0..30).map(|i| 100.0 + ((i * 37) % 23) as f64).collect();
        let f = forecast(&history, &[], 12);
        for s in &f.steps {
            assert!(s.lo95 <= s.lo80 && s.lo80 <= s.mean && s.mean <= s.hi80 && s.hi80 <= s.hi95);
        }
        assert!(f.steps[11].hi95 - f.steps[11].lo95 >= f.steps[0].hi95 - f.steps[0].lo95 - 1e-9);
    }

    #[test]
    fn a_short_history_still_answers() {
        let f = forecast(&[3.0, 5.0], &[], 2);
        assert_eq!(f.steps.len(), 2);
        assert!(f.back_test.is_none());
    }
}
