//! The shape of the source tree that docs/ARCHITECTURE.md promises: no module imports a module
//! that imports it, and use cases and pages write no queries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/` by its module path (`app::ledger::money`); `lib.rs` is the root.
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            match parts.as_slice() {
                [only] if only == "main" => None,
                [only] if only == "lib" => Some((String::new(), file)),
                _ => Some((parts.join("::"), file)),
            }
        })
        .collect()
}

/// The source without its comments (a doc link is no import) and its `#[cfg(test)] mod tests`
/// (tests may reach anywhere).
fn code_of(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text,
    };
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names that start at `crate::`, `super::` or `self::`, with the items of
/// `{…}` groups one level deep (enough for this code base's `use` lines).
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .any(|prefix| rest.starts_with(prefix));
        let boundary = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if !(starts && boundary) {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let path = rest[..end].trim_end_matches(':').to_owned();
        if rest[end..].starts_with('{') && rest[..end].ends_with("::") {
            let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
            for item in rest[end + 1..close].split(',') {
                let item = item.split(" as ").next().unwrap_or("").trim();
                if !item.is_empty() && item != "self" && !item.contains('{') {
                    paths.push(format!("{path}::{item}"));
                }
            }
        }
        paths.push(path);
        at += end.max(1);
    }
    paths
}

/// The module a path names (its longest prefix that is a module), from module `current`.
fn resolve(current: &str, path: &str, modules: &BTreeMap<String, PathBuf>) -> Option<String> {
    let mut parts: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = if current.is_empty() {
        Vec::new()
    } else {
        current.split("::").collect()
    };
    match parts.first() {
        Some(&"crate") => {
            base.clear();
            parts.remove(0);
        }
        Some(&"self") => {
            parts.remove(0);
        }
        Some(&"super") => {
            while parts.first() == Some(&"super") {
                base.pop();
                parts.remove(0);
            }
        }
        _ => return None,
    }
    base.extend(parts);
    (1..=base.len())
        .rev()
        .map(|n| base[..n].join("::"))
        .find(|candidate| modules.contains_key(candidate))
}

/// Each module that reaches itself through the edges, with the way it does.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((module, trail)) = stack.pop() {
            for next in edges.get(&module).into_iter().flatten() {
                if next == start {
                    cycles.push(trail.join(" -> ") + " -> " + start);
                } else if seen.insert(next.clone()) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    cycles
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let modules = modules();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let targets = edges.entry(module.clone()).or_default();
        for path in named_paths(&code_of(file)) {
            if let Some(target) = resolve(module, &path, &modules) {
                // A module reaching up to its own parent (`super::`) is how Rust nests; a
                // parent declaring its children is too.
                let nested = module.starts_with(&format!("{target}::")) || target.is_empty();
                if target != *module && !nested {
                    targets.insert(target);
                }
            }
        }
    }
    let cycles = cycles(&edges);
    assert!(modules.len() > 50, "found only {} modules", modules.len());
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let modules: BTreeMap<String, PathBuf> = ["", "app", "app::a", "app::b"]
        .iter()
        .map(|m| (m.to_string(), PathBuf::new()))
        .collect();
    assert_eq!(
        resolve("app::a", "super::b::Thing", &modules).as_deref(),
        Some("app::b")
    );
    assert_eq!(
        resolve("app::b", "crate::app::a::{f, g}", &modules).as_deref(),
        Some("app::a")
    );
    let edge = |from: &str, to: &str| (from.to_owned(), BTreeSet::from([to.to_owned()]));
    let looped = BTreeMap::from([edge("a", "b"), edge("b", "c"), edge("c", "a")]);
    assert_eq!(cycles(&looped).len(), 3);
    let straight = BTreeMap::from([edge("a", "b"), edge("b", "c")]);
    assert!(cycles(&straight).is_empty());
    assert_eq!(
        named_paths("use super::b::{f, g as h};\nlet x = crate::app::a::f();"),
        ["super::b::f", "super::b::g", "super::b", "crate::app::a::f"]
    );
}

/// Use cases reach the database through `db` only: no diesel in `src/app` but for the one
/// mapping of its errors (`app/error.rs`); and pages do what the API does, through `app`.
#[test]
fn use_cases_and_pages_write_no_queries() {
    for (module, file) in modules() {
        let code = code_of(&file);
        let layer_of_queries = module.starts_with("app::") || module.starts_with("web::");
        if !layer_of_queries || module == "app::error" {
            continue;
        }
        for word in ["diesel::", "diesel_async::", "sql_query"] {
            assert!(
                !code.contains(word),
                "{module} ({}) uses {word}: queries belong in src/db",
                file.display()
            );
        }
    }
}
