//! The category tree as the matcher needs it: who is whose ancestor, and a subtree's members.

use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The taxonomy as a map from each category to its parent.
///
/// Built from `(category, parent)` pairs. A category that only appears as a parent is a root.
/// A cycle (which the database forbids) is cut at its smallest id, which becomes a root, so
/// that every walk up the tree ends and every category has at most one path to a root.
#[derive(Debug, Clone, Default)]
pub struct CategoryTree {
    parent: HashMap<Uuid, Uuid>,
    children: HashMap<Uuid, Vec<Uuid>>,
}

impl CategoryTree {
    pub fn new(edges: impl IntoIterator<Item = (Uuid, Option<Uuid>)>) -> Self {
        let mut parent = HashMap::new();
        for (id, up) in edges {
            match up {
                Some(up) if up != id => {
                    parent.insert(id, up);
                }
                _ => {
                    parent.remove(&id);
                }
            }
        }
        cut_cycles(&mut parent);
        let mut children: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (&child, &up) in &parent {
            children.entry(up).or_default().push(child);
        }
        for list in children.values_mut() {
            list.sort_unstable();
        }
        CategoryTree { parent, children }
    }

    pub fn parent(&self, id: Uuid) -> Option<Uuid> {
        self.parent.get(&id).copied()
    }

    /// `id` itself, then its parent, its grandparent … up to the root. A category the tree
    /// does not know is its own root.
    pub fn ancestors_and_self(&self, id: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        std::iter::successors(Some(id), |at| self.parent.get(at).copied())
    }

    /// `id` and everything below it, `id` first, then breadth-first with siblings in id order.
    pub fn descendants_and_self(&self, id: Uuid) -> Vec<Uuid> {
        let mut out = vec![id];
        let mut next = 0;
        while let Some(&at) = out.get(next) {
            if let Some(kids) = self.children.get(&at) {
                out.extend_from_slice(kids);
            }
            next += 1;
        }
        out
    }

    /// How many levels `id` lies below `ancestor`: 0 when they are the same, `None` when `id` is
    /// outside `ancestor`'s subtree.
    pub fn depth_below(&self, ancestor: Uuid, id: Uuid) -> Option<u32> {
        self.ancestors_and_self(id)
            .position(|at| at == ancestor)
            .map(|depth| depth as u32)
    }

    /// Whether `id` lies in the subtree rooted at `ancestor` (itself included).
    pub fn is_within(&self, id: Uuid, ancestor: Uuid) -> bool {
        self.depth_below(ancestor, id).is_some()
    }

    pub fn len(&self) -> usize {
        let mut all: HashSet<Uuid> = self.parent.keys().copied().collect();
        all.extend(self.children.keys().copied());
        all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty() && self.children.is_empty()
    }
}

/// Removes one parent link from every cycle: the one leaving the cycle's smallest id.
fn cut_cycles(parent: &mut HashMap<Uuid, Uuid>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        OnPath,
        Done,
    }
    let mut seen: HashMap<Uuid, Seen> = HashMap::new();
    let mut starts: Vec<Uuid> = parent.keys().copied().collect();
    starts.sort_unstable();
    for start in starts {
        let mut path = Vec::new();
        let mut at = start;
        loop {
            match seen.get(&at) {
                Some(Seen::Done) => break,
                Some(Seen::OnPath) => {
                    let from = path.iter().position(|&p| p == at).unwrap_or(0);
                    if let Some(&cut) = path[from..].iter().min() {
                        parent.remove(&cut);
                    }
                    break;
                }
                None => {
                    seen.insert(at, Seen::OnPath);
                    path.push(at);
                    match parent.get(&at) {
                        Some(&up) => at = up,
                        None => break,
                    }
                }
            }
        }
        for p in path {
            seen.insert(p, Seen::Done);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn walks_up_and_down() {
        // 1 ─ 2 ─ 4
        //   └ 3
        let tree = CategoryTree::new([
            (id(1), None),
            (id(2), Some(id(1))),
            (id(3), Some(id(1))),
            (id(4), Some(id(2))),
        ]);
        assert_eq!(
            tree.ancestors_and_self(id(4)).collect::<Vec<_>>(),
            [id(4), id(2), id(1)]
        );
        assert_eq!(
            tree.descendants_and_self(id(1)),
            [id(1), id(2), id(3), id(4)]
        );
        assert_eq!(tree.depth_below(id(1), id(4)), Some(2));
        assert_eq!(tree.depth_below(id(4), id(4)), Some(0));
        assert_eq!(tree.depth_below(id(3), id(4)), None);
        assert!(tree.is_within(id(4), id(1)));
        assert!(!tree.is_within(id(1), id(4)));
        assert_eq!(tree.len(), 4);
        assert_eq!(
            tree.ancestors_and_self(id(9)).collect::<Vec<_>>(),
            [id(9)],
            "an unknown category is its own root"
        );
        assert_eq!(tree.descendants_and_self(id(9)), [id(9)]);
    }

    #[test]
    fn cycles_are_cut_at_the_smallest_id() {
        let tree = CategoryTree::new([
            (id(5), Some(id(6))),
            (id(6), Some(id(7))),
            (id(7), Some(id(5))),
            (id(8), Some(id(8))),
        ]);
        assert_eq!(tree.parent(id(5)), None);
        assert_eq!(
            tree.ancestors_and_self(id(6)).collect::<Vec<_>>(),
            [id(6), id(7), id(5)]
        );
        assert_eq!(tree.parent(id(8)), None, "its own parent is a root");
        assert_eq!(tree.descendants_and_self(id(5)), [id(5), id(7), id(6)]);
    }
}
