//! The pipeline of announced supply against open demand, month by month: the gap, and what a
//! storage hub would hold when supply arrives before the demand that could take it.

/// What a hub would hold for one category and district.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Storage {
    /// The most it holds at the end of any month, in the series' unit.
    pub peak: f64,
    /// Months in which it holds anything.
    pub months: usize,
}

/// Supply and demand per month (index 0 is this month). Supply is stored only for demand that
/// comes later: what no later demand takes is a surplus, not stock to keep.
pub fn storage(supply: &[f64], demand: &[f64]) -> Storage {
    let len = supply.len().max(demand.len());
    let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0).max(0.0);
    let mut held = 0.0_f64;
    let mut out = Storage::default();
    for month in 0..len {
        let arriving = at(supply, month);
        // This month's demand is met first from the hub, then from what arrives.
        let from_hub = held.min(at(demand, month));
        held -= from_hub;
        let left_demand = at(demand, month) - from_hub;
        let spare = (arriving - left_demand).max(0.0);
        let later: f64 = (month + 1..len).map(|i| at(demand, i)).sum();
        held = (held + spare).min(later);
        if held > 1e-9 {
            out.months += 1;
            out.peak = out.peak.max(held);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supply_ahead_of_demand_is_held_until_it_is_taken() {
        // 10 t arrive now, 4 t are wanted in two months and 6 t in four.
        let s = storage(&[10.0, 0.0, 0.0, 0.0, 0.0], &[0.0, 0.0, 4.0, 0.0, 6.0]);
        assert_eq!(
            s,
            Storage {
                peak: 10.0,
                months: 4
            }
        );
    }

    #[test]
    fn supply_nobody_wants_later_is_not_stored() {
        let s = storage(&[10.0, 0.0], &[3.0, 0.0]);
        assert_eq!(s, Storage::default());
    }

    #[test]
    fn demand_first_needs_no_hub() {
        let s = storage(&[0.0, 5.0], &[5.0, 0.0]);
        assert_eq!(s, Storage::default());
    }
}
