//! Statistical disclosure control for published flows: a cell behind fewer than
//! [`MIN_PARTIES`] distinct organisations on either side is suppressed (primary), and further
//! cells are suppressed (secondary) until no suppressed cell can be worked out from the
//! published cells and the published totals they add up to.

use std::collections::{BTreeMap, HashMap};

/// The fewest distinct organisations on each side of a published cell.
pub const MIN_PARTIES: usize = 3;

/// A published cell: its value and how many distinct organisations stand behind each side.
#[derive(Debug, Clone)]
pub struct Cell {
    pub value: i64,
    pub donors: usize,
    pub receivers: usize,
}

/// What may be published: which cells are hidden and which totals are withheld.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub hidden: Vec<bool>,
    /// Per group: whether its total may be published.
    pub published: Vec<bool>,
}

/// Which cells are suppressed. `groups` lists, for each total the caller would publish, the
/// cells it adds up. A total that would give a hidden cell away and has no published cell left
/// to hide beside it is withheld instead.
pub fn suppress(cells: &[Cell], groups: &[Vec<usize>]) -> Suppression {
    let mut hidden: Vec<bool> = cells
        .iter()
        .map(|c| c.donors < MIN_PARTIES || c.receivers < MIN_PARTIES)
        .collect();
    let mut published = vec![true; groups.len()];
    // Each round hides one more cell (or withholds a total) beside every cell that can still
    // be worked out; rounds only add, so this ends.
    loop {
        let open: Vec<Vec<usize>> = groups
            .iter()
            .zip(&published)
            .filter(|(_, p)| **p)
            .map(|(g, _)| g.clone())
            .collect();
        let exposed = derivable(&open, &hidden, cells.len());
        if exposed.is_empty() {
            return Suppression { hidden, published };
        }
        for cell in exposed {
            // The smallest published cell in a group with the exposed one hides the least.
            let partner = groups
                .iter()
                .zip(&published)
                .filter(|(g, p)| **p && g.contains(&cell))
                .flat_map(|(g, _)| g.iter().copied())
                .filter(|&c| !hidden[c])
                .min_by_key(|&c| (cells[c].value, c));
            match partner {
                Some(partner) => hidden[partner] = true,
                None => {
                    for (g, p) in groups.iter().zip(published.iter_mut()) {
                        if g.contains(&cell) {
                            *p = false;
                        }
                    }
                }
            }
        }
    }
}

/// The hidden cells whose value follows from the published totals: cell j is determined
/// exactly when every solution of the totals' equations over the hidden cells agrees on it,
/// that is when j is a pivot of the reduced system and its row has no free variable.
pub fn derivable(groups: &[Vec<usize>], hidden: &[bool], cells: usize) -> Vec<usize> {
    let unknowns: Vec<usize> = (0..cells).filter(|&c| hidden[c]).collect();
    if unknowns.is_empty() {
        return Vec::new();
    }
    let column: HashMap<usize, usize> = unknowns.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    let mut rows: Vec<Vec<f64>> = groups
        .iter()
        .filter_map(|g| {
            let mut row = vec![0.0; unknowns.len()];
            let mut any = false;
            for c in g {
                if let Some(&i) = column.get(c) {
                    row[i] += 1.0;
                    any = true;
                }
            }
            any.then_some(row)
        })
        .collect();
    let pivots = reduce(&mut rows, unknowns.len());
    let pivot_columns: BTreeMap<usize, usize> =
        pivots.iter().enumerate().map(|(r, &c)| (c, r)).collect();
    unknowns
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            pivot_columns.get(i).is_some_and(|&r| {
                (0..unknowns.len())
                    .filter(|c| !pivot_columns.contains_key(c))
                    .all(|free| rows[r][free].abs() < 1e-9)
            })
        })
        .map(|(_, &cell)| cell)
        .collect()
}

/// Reduced row echelon form in place; returns the pivot column of each leading row.
fn reduce(rows: &mut [Vec<f64>], width: usize) -> Vec<usize> {
    let mut pivots = Vec::new();
    let mut r = 0;
    for c in 0..width {
        let Some(p) = (r..rows.len()).find(|&i| rows[i][c].abs() > 1e-9) else {
            continue;
        };
        rows.swap(r, p);
        let lead = rows[r][c];
        for x in rows[r].iter_mut() {
            *x /= lead;
        }
        for i in 0..rows.len() {
            if i != r && rows[i][c].abs() > 1e-9 {
                let factor = rows[i][c];
                let pivot_row = rows[r].clone();
                for (x, p) in rows[i].iter_mut().zip(pivot_row) {
                    *x -= factor * p;
                }
            }
        }
        pivots.push(c);
        r += 1;
        if r == rows.len() {
            break;
        }
    }
    pivots
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cell(value: i64, parties: usize) -> Cell {
        Cell {
            value,
            donors: parties,
            receivers: parties,
        }
    }

    /// The rank of a 0/1 matrix, by a separate elimination.
    fn rank(mut m: Vec<Vec<f64>>) -> usize {
        let width = m.first().map_or(0, Vec::len);
        reduce(&mut m, width).len()
    }

    /// Whether a hidden cell can be worked out: its unit vector lies in the span of the
    /// published totals' rows (restricted to hidden cells) exactly when adding it keeps the
    /// rank.
    fn can_work_out(groups: &[Vec<usize>], hidden: &[bool], target: usize) -> bool {
        let unknowns: Vec<usize> = (0..hidden.len()).filter(|&c| hidden[c]).collect();
        let rows: Vec<Vec<f64>> = groups
            .iter()
            .map(|g| {
                unknowns
                    .iter()
                    .map(|u| if g.contains(u) { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        let mut with = rows.clone();
        with.push(
            unknowns
                .iter()
                .map(|&u| if u == target { 1.0 } else { 0.0 })
                .collect(),
        );
        rank(with) == rank(rows)
    }

    #[test]
    fn a_lone_small_cell_in_a_row_takes_a_partner() {
        // One row of three cells with a published total: hiding only the small one would give
        // it away.
        let cells = vec![cell(10, 1), cell(20, 5), cell(30, 5)];
        let s = suppress(&cells, &[vec![0, 1, 2]]);
        assert_eq!(s.hidden, vec![true, true, false]);
    }

    #[test]
    fn a_two_by_two_table_hides_all_four_when_one_is_small() {
        // Rows {0,1}, {2,3}; columns {0,2}, {1,3}: one small cell pulls in its whole rectangle.
        let cells = vec![cell(1, 1), cell(2, 5), cell(3, 5), cell(4, 5)];
        let groups = vec![vec![0, 1], vec![2, 3], vec![0, 2], vec![1, 3]];
        let s = suppress(&cells, &groups);
        assert_eq!(s.hidden, vec![true; 4]);
        assert!(s.published.iter().all(|p| *p));
    }

    proptest! {
        #[test]
        fn no_hidden_cell_can_be_worked_out(
            parties in proptest::collection::vec(1usize..6, 4..30),
            rows in 2usize..5,
        ) {
            let cells: Vec<Cell> = parties.iter().enumerate().map(|(i, &p)| cell(i as i64, p)).collect();
            let n = cells.len();
            let cols = n.div_ceil(rows);
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for r in 0..rows {
                groups.push((0..n).filter(|c| c / cols == r).collect());
            }
            for k in 0..cols {
                groups.push((0..n).filter(|c| c % cols == k).collect());
            }
            groups.push((0..n).collect());
            groups.retain(|g| !g.is_empty());
            let s = suppress(&cells, &groups);
            let published: Vec<Vec<usize>> = groups.iter().zip(&s.published).filter(|(_, p)| **p).map(|(g, _)| g.clone()).collect();
            let hidden = s.hidden;
            for (c, p) in parties.iter().enumerate() {
                if *p < MIN_PARTIES {
                    prop_assert!(hidden[c]);
                }
                if hidden[c] {
                    prop_assert!(!can_work_out(&published, &hidden, c), "cell {} can be worked out", c);
                }
            }
        }
    }
}
