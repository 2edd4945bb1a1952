//! The code's layout, checked on its source: no import cycle between the library's top-level
//! modules, no function over 100 lines, a thin `main.rs`. Parsed with `syn`, so comments and
//! strings never count as imports, and macro bodies (`tracing::debug!(…crate::x…)`) do.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;

const FN_LINES_MAX: usize = 100;

fn src() -> PathBuf {
    crate::root().join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The module path of a library file: `src/report/mod.rs` → `["report"]`,
/// `src/server/variant/batched.rs` → `["server", "variant", "batched"]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    parts
}

/// The top-level modules a token stream names through `crate::x` or `super::…::x`.
fn named_modules(tokens: TokenStream, here: &[String], out: &mut BTreeSet<String>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in trees.iter().enumerate() {
        match t {
            TokenTree::Group(g) => named_modules(g.stream(), here, out),
            TokenTree::Ident(id) if *id == "crate" || *id == "super" => {
                if i >= 2 && is_path_sep(&trees, i - 2) {
                    continue; // `x::super` is not a path start
                }
                resolve(&trees[i..], here, out);
            }
            _ => {}
        }
    }
}

fn is_path_sep(trees: &[TokenTree], i: usize) -> bool {
    matches!((trees.get(i), trees.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':')
}

/// Follows `crate::` or a chain of `super::` to the crate root, then records the next name(s).
fn resolve(trees: &[TokenTree], here: &[String], out: &mut BTreeSet<String>) {
    let mut depth = here.len(); // module depth below the crate root
    let mut i = 0;
    loop {
        match &trees[i] {
            TokenTree::Ident(id) if *id == "crate" => depth = 0,
            TokenTree::Ident(id) if *id == "super" => depth = depth.saturating_sub(1),
            _ => break,
        }
        if !is_path_sep(trees, i + 1) {
            return;
        }
        i += 3;
        if i >= trees.len() {
            return;
        }
    }
    if depth > 0 {
        return; // still inside the same top-level module
    }
    match &trees[i] {
        TokenTree::Ident(id) => {
            out.insert(id.to_string());
        }
        TokenTree::Group(g) => {
            // `crate::{a, b::c}`: the first name of each item.
            let mut first = true;
            for t in g.stream() {
                match t {
                    TokenTree::Ident(id) if first => {
                        out.insert(id.to_string());
                        first = false;
                    }
                    TokenTree::Punct(p) if p.as_char() == ',' => first = true,
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Top-level module → the top-level modules it imports.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src()) {
        let here = module_path(&file);
        let Some(top) = here.first().cloned() else {
            continue; // lib.rs
        };
        if top == "main" || top == "cli" {
            continue; // the binary, not the library
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let tokens: TokenStream = text.parse().unwrap();
        let mut named = BTreeSet::new();
        named_modules(tokens, &here, &mut named);
        named.remove(&top);
        named.retain(|m| src().join(m).exists() || src().join(format!("{m}.rs")).exists());
        graph.entry(top).or_default().extend(named);
    }
    graph
}

/// The cycles of a graph: its strongly connected components of more than one node.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for m in graph.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|k| (k, reach(k))).collect();
    let mut found: Vec<Vec<String>> = Vec::new();
    for (a, ra) in &reaches {
        if !ra.contains(*a) || found.iter().any(|c| c.contains(a)) {
            continue;
        }
        let scc: Vec<String> = ra
            .iter()
            .filter(|b| reaches.get(b).is_some_and(|rb| rb.contains(*a)))
            .cloned()
            .collect();
        found.push(scc);
    }
    found
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let graph = import_graph();
    assert!(graph.len() > 5, "found too few modules: {graph:?}");
    let found = cycles(&graph);
    let listing: Vec<String> = graph
        .iter()
        .map(|(k, v)| {
            format!(
                "  {k} → {}",
                v.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "import cycles between top-level modules: {found:?}\n{}",
        listing.join("\n")
    );
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    assert_eq!(
        cycles(&g),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
    let mut names = BTreeSet::new();
    let here = vec!["report".to_string(), "table".to_string()];
    let t: TokenStream =
        "use crate::{metrics::X, sim}; use super::super::draw; x!(crate::clock::now())"
            .parse()
            .unwrap();
    named_modules(t, &here, &mut names);
    let want: BTreeSet<String> = ["metrics", "sim", "draw", "clock"].map(String::from).into();
    assert_eq!(names, want);
}

/// Lengths in lines of every function with a body, as (lines, "file:line name").
fn function_lengths() -> Vec<(usize, String)> {
    struct Lengths<'a> {
        file: &'a str,
        out: Vec<(usize, String)>,
    }
    impl Lengths<'_> {
        fn add(&mut self, span: proc_macro2::Span, name: &syn::Ident) {
            let lines = span.end().line - span.start().line + 1;
            let at = format!("{}:{} {name}", self.file, span.start().line);
            self.out.push((lines, at));
        }
    }
    impl<'ast> Visit<'ast> for Lengths<'_> {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            self.add(f.span(), &f.sig.ident);
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            self.add(f.span(), &f.sig.ident);
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
            if f.default.is_some() {
                self.add(f.span(), &f.sig.ident);
            }
            syn::visit::visit_trait_item_fn(self, f);
        }
    }
    let mut all = Vec::new();
    for file in rust_files(&src()) {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed = syn::parse_file(&text).unwrap();
        let rel = file
            .strip_prefix(crate::root())
            .unwrap()
            .display()
            .to_string();
        let mut v = Lengths {
            file: &rel,
            out: Vec::new(),
        };
        v.visit_file(&parsed);
        all.extend(v.out);
    }
    all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    all
}

#[test]
fn no_function_in_src_is_longer_than_100_lines() {
    let lengths = function_lengths();
    assert!(lengths.len() > 100, "found too few functions");
    let over_70 = lengths.iter().filter(|(n, _)| *n > 70).count();
    eprintln!("functions over 70 lines: {over_70}");
    let long: Vec<String> = lengths
        .iter()
        .filter(|(n, _)| *n > FN_LINES_MAX)
        .map(|(n, at)| format!("  {n} lines: {at}"))
        .collect();
    assert!(
        long.is_empty(),
        "functions over {FN_LINES_MAX} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn main_rs_only_calls_the_cli() {
    let text = std::fs::read_to_string(src().join("main.rs")).unwrap();
    let lines = text.lines().count();
    assert!(
        lines < 100,
        "src/main.rs has {lines} lines; the CLI lives in src/cli/"
    );
}

/// The layers of the library, lowest first (ARCHITECTURE.md, "Layers"): a module may import
/// modules of its own layer or of a lower one, never of a higher one, and every top-level
/// module is in exactly one layer.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves",
        &[
            "names", "clock", "task", "wire", "failure", "files", "fnv", "stats",
        ],
    ),
    ("input and records", &["scenario", "record"]),
    ("randomness", &["draw"]),
    ("the two sides", &["server", "client"]),
    ("one run", &["sim"]),
    ("figures", &["metrics", "replay"]),
    ("the pipeline", &["pipeline"]),
    ("estimates", &["cost"]),
    (
        "uses of it",
        &[
            "verdict",
            "sweep",
            "fit",
            "calibrate",
            "live",
            "bench",
            "compare",
            "decide",
        ],
    ),
    ("outside", &["experiment", "report"]),
];

/// A module's layer (its index in [`LAYERS`]).
fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The imports that go up a layer: (importer, imported).
fn upward_imports(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<(String, String)> {
    let mut up = Vec::new();
    for (from, tos) in graph {
        for to in tos {
            if let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) {
                if b > a {
                    up.push((from.clone(), to.clone()));
                }
            }
        }
    }
    up
}

#[test]
fn no_module_imports_a_higher_layer_and_every_module_has_one() {
    let graph = import_graph();
    let unplaced: Vec<&String> = graph.keys().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS here and to ARCHITECTURE.md): {unplaced:?}"
    );
    let up = upward_imports(&graph);
    assert!(up.is_empty(), "imports of a higher layer: {up:?}");
}

#[test]
fn the_layer_check_finds_an_upward_import() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("metrics".into())
        .or_default()
        .insert("report".into());
    g.entry("report".into())
        .or_default()
        .insert("metrics".into());
    assert_eq!(
        upward_imports(&g),
        vec![("metrics".to_string(), "report".to_string())]
    );
}

/// Every path a token stream names through `crate::…` or `super::…`, made absolute (module
/// segments from the crate root, as far as they name modules that exist); a brace group after
/// a path (`crate::server::{auth, socket}`) names each of its items under that path.
fn named_paths(tokens: TokenStream, here: &[String], out: &mut BTreeSet<Vec<String>>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in trees.iter().enumerate() {
        match t {
            TokenTree::Group(g) => named_paths(g.stream(), here, out),
            TokenTree::Ident(id) if *id == "crate" || *id == "super" => {
                if i >= 2 && is_path_sep(&trees, i - 2) {
                    continue;
                }
                follow_path(&trees[i..], here.to_vec(), out);
            }
            _ => {}
        }
    }
}

/// Follows one path from `at` (`crate` and `super` move it, a name descends), records where it
/// ends, and does the same for each item of a brace group it ends in.
fn follow_path(trees: &[TokenTree], mut at: Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    let mut j = 0;
    loop {
        match trees.get(j) {
            Some(TokenTree::Ident(id)) => match id.to_string().as_str() {
                "crate" => at.clear(),
                "super" => {
                    at.pop();
                }
                "self" => {}
                name => at.push(name.to_string()),
            },
            Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace => {
                let items: Vec<TokenTree> = g.stream().into_iter().collect();
                for item in items.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
                {
                    if !item.is_empty() {
                        follow_path(item, at.clone(), out);
                    }
                }
                return;
            }
            _ => break,
        }
        if !is_path_sep(trees, j + 1) {
            break;
        }
        j += 3;
    }
    out.insert(existing_module(&at));
}

/// The longest prefix of `path` that is a module of `src/`.
fn existing_module(path: &[String]) -> Vec<String> {
    let mut p = path.to_vec();
    while !p.is_empty() {
        let rel: PathBuf = p.iter().collect();
        let dir = src().join(&rel);
        if dir.is_dir() || dir.with_extension("rs").is_file() {
            break;
        }
        p.pop();
    }
    p
}

/// For each folder, its children's imports of each other: folder → child → children.
fn sibling_graphs() -> BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> {
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in rust_files(&src()) {
        let here = module_path(&file);
        let text = std::fs::read_to_string(&file).unwrap();
        let mut named = BTreeSet::new();
        named_paths(text.parse().unwrap(), &here, &mut named);
        for target in named {
            let common = here.iter().zip(&target).take_while(|(a, b)| a == b).count();
            let (Some(a), Some(b)) = (here.get(common), target.get(common)) else {
                continue; // a module importing its own parent or child
            };
            let folder = here[..common].to_vec();
            let g = graphs.entry(folder).or_default();
            g.entry(a.clone()).or_default().insert(b.clone());
        }
    }
    graphs
}

#[test]
fn no_folder_has_an_import_circle_among_its_files() {
    let mut found = Vec::new();
    for (folder, g) in sibling_graphs() {
        if folder.is_empty() {
            continue; // the top level: its own test, with the layers
        }
        for c in cycles(&g) {
            found.push(format!("src/{}: {c:?}", folder.join("/")));
        }
    }
    assert!(
        found.is_empty(),
        "import circles inside folders: {found:#?}"
    );
}

#[test]
fn the_folder_check_sees_every_item_of_a_grouped_import() {
    let here: Vec<String> = ["server", "object", "upgrade"].map(String::from).to_vec();
    let src = "use crate::server::{auth, object::{socket::run, Objects}}; use super::{routes, storage::Read as _};";
    let mut named = BTreeSet::new();
    named_paths(src.parse().unwrap(), &here, &mut named);
    let want: BTreeSet<Vec<String>> = [
        vec!["server", "auth"],
        vec!["server", "object", "socket"],
        vec!["server", "object"],
        vec!["server", "object", "routes"],
        vec!["server", "object", "storage"],
    ]
    .into_iter()
    .map(|p| p.into_iter().map(String::from).collect())
    .collect();
    assert_eq!(named, want);
}
