//! Inspection and cleaning on small hand-built meshes with known answers, plus property tests
//! against brute-force references on random meshes.

use std::collections::{BTreeMap, BTreeSet};

use expect_test::{expect, Expect};
use facevault_mesh::clean::{self, CleanReport};
use facevault_mesh::inspect::{self, Report};
use facevault_mesh::{Mesh, SourceUnit, Unit, UnitBasis};
use proptest::prelude::*;

fn mesh(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Mesh {
    Mesh::new(positions.to_vec(), triangles.to_vec()).unwrap()
}

/// A closed unit cube, faces wound outwards.
fn cube() -> Mesh {
    mesh(
        &[
            [0., 0., 0.],
            [1., 0., 0.],
            [1., 1., 0.],
            [0., 1., 0.],
            [0., 0., 1.],
            [1., 0., 1.],
            [1., 1., 1.],
            [0., 1., 1.],
        ],
        &[
            [0, 2, 1],
            [0, 3, 2],
            [4, 5, 6],
            [4, 6, 7],
            [0, 1, 5],
            [0, 5, 4],
            [3, 7, 6],
            [3, 6, 2],
            [0, 4, 7],
            [0, 7, 3],
            [1, 2, 6],
            [1, 6, 5],
        ],
    )
}

const QUAD: [[f32; 3]; 4] = [[0., 0., 0.], [1., 0., 0.], [1., 1., 0.], [0., 1., 0.]];

/// A compact, stable rendering of everything a report says.
fn render(r: &Report) -> String {
    let mut out =
        format!("{} vertices, {} faces, area {:.3} mm²\n", r.vertices, r.triangles, r.surface_area_mm2);
    match &r.edges {
        Some(e) => out += &format!("edges: {e}\n"),
        None => out += "edges: none\n",
    }
    out += &format!("components: {} {:?}\n", r.components.count, r.components.triangle_counts);
    let b = &r.boundary;
    out += &format!(
        "boundary: {} edges, {} closed, {} open, {:.3} mm",
        b.edges, b.closed_loops, b.open_chains, b.total_length_mm
    );
    for l in &b.longest {
        let kind = if l.closed { "loop" } else { "chain" };
        out += &format!(" | {kind} {} edges {:.3} mm from {}", l.edges, l.length_mm, l.first_vertex);
    }
    out += "\n";
    let problems = r.problems();
    if problems.is_empty() {
        out += "problems: none\n";
    }
    for p in problems {
        out += &format!("problem: {p}\n");
    }
    out
}

fn check(mesh: &Mesh, expect: Expect) {
    expect.assert_eq(&render(&inspect::inspect(mesh)));
}

#[test]
fn cube_is_closed_and_clean() {
    check(
        &cube(),
        expect![[r#"
            8 vertices, 12 faces, area 6.000 mm²
            edges: 18 edges, 1.000-1.414 mm, mean 1.138 mm, median 1.000 mm, std 0.195 mm
            components: 1 [12]
            boundary: 0 edges, 0 closed, 0 open, 0.000 mm
            problems: none
        "#]],
    );
}

#[test]
fn quad_has_one_boundary_loop_of_length_four() {
    check(
        &mesh(&QUAD, &[[0, 1, 2], [0, 2, 3]]),
        expect![[r#"
            4 vertices, 2 faces, area 1.000 mm²
            edges: 5 edges, 1.000-1.414 mm, mean 1.083 mm, median 1.000 mm, std 0.166 mm
            components: 1 [2]
            boundary: 4 edges, 1 closed, 0 open, 4.000 mm | loop 4 edges 4.000 mm from 0
            problems: none
        "#]],
    );
    let loops = inspect::boundary_loops(&mesh(&QUAD, &[[0, 1, 2], [0, 2, 3]]));
    assert_eq!(loops.len(), 1);
    // Walked along the faces' orientation.
    assert_eq!(loops[0].vertices, vec![0, 1, 2, 3]);
    assert!(loops[0].closed);
    assert_eq!(loops[0].edge_count(), 4);
    // Wound the other way, the loop runs the other way.
    let loops = inspect::boundary_loops(&mesh(&QUAD, &[[0, 2, 1], [0, 3, 2]]));
    assert_eq!(loops[0].vertices, vec![0, 3, 2, 1]);
}

#[test]
fn disjoint_triangles_are_two_components() {
    let m = mesh(
        &[[0., 0., 0.], [1., 0., 0.], [0., 1., 0.], [5., 0., 0.], [6., 0., 0.], [5., 1., 0.]],
        &[[0, 1, 2], [3, 4, 5]],
    );
    check(
        &m,
        expect![[r#"
            6 vertices, 2 faces, area 1.000 mm²
            edges: 6 edges, 1.000-1.414 mm, mean 1.138 mm, median 1.000 mm, std 0.195 mm
            components: 2 [1, 1]
            boundary: 6 edges, 2 closed, 0 open, 6.828 mm | loop 3 edges 3.414 mm from 0 | loop 3 edges 3.414 mm from 3
            problems: none
        "#]],
    );
    let c = inspect::connected_components(&m);
    assert_eq!((c.count(), c.largest_triangles()), (2, 1));
    assert_eq!(c.of_vertex(0), c.of_vertex(2));
    assert_ne!(c.of_vertex(0), c.of_vertex(3));
    assert_eq!(c.of_vertex(6), None);
}

#[test]
fn components_are_labelled_largest_first_and_skip_unused_vertices() {
    let m = mesh(
        &[
            [0., 0., 0.],
            [1., 0., 0.],
            [0., 1., 0.],
            [9., 9., 9.],
            [5., 0., 0.],
            [6., 0., 0.],
            [5., 1., 0.],
            [6., 1., 0.],
        ],
        &[[0, 1, 2], [4, 5, 6], [5, 7, 6]],
    );
    let c = inspect::connected_components(&m);
    assert_eq!(c.triangle_counts(), &[2, 1]);
    assert_eq!(c.of_vertex(4), Some(0));
    assert_eq!(c.of_vertex(0), Some(1));
    assert_eq!(c.of_vertex(3), None);
}

#[test]
fn three_faces_on_one_edge_are_non_manifold() {
    let fan = mesh(
        &[[0., 0., 0.], [1., 0., 0.], [0.5, 1., 0.], [0.5, -1., 0.], [0.5, 0., 1.]],
        &[[0, 1, 2], [1, 0, 3], [0, 1, 4]],
    );
    check(
        &fan,
        expect![[r#"
            5 vertices, 3 faces, area 1.500 mm²
            edges: 7 edges, 1.000-1.118 mm, mean 1.101 mm, median 1.118 mm, std 0.041 mm
            components: 1 [3]
            boundary: 6 edges, 1 closed, 1 open, 6.708 mm | loop 4 edges 4.472 mm from 0 | chain 2 edges 2.236 mm from 0
            problem: 1 non-manifold edge (shared by more than two faces): 0-1
            problem: 2 non-manifold vertices: 0, 1
        "#]],
    );
}

#[test]
fn bowtie_vertex_is_non_manifold_with_two_loops() {
    let bowtie = mesh(
        &[[0., 0., 0.], [1., 0., 0.], [1., 1., 0.], [-1., 0., 0.], [-1., -1., 0.]],
        &[[0, 1, 2], [0, 3, 4]],
    );
    check(
        &bowtie,
        expect![[r#"
            5 vertices, 2 faces, area 1.000 mm²
            edges: 6 edges, 1.000-1.414 mm, mean 1.138 mm, median 1.000 mm, std 0.195 mm
            components: 1 [2]
            boundary: 6 edges, 2 closed, 0 open, 6.828 mm | loop 3 edges 3.414 mm from 0 | loop 3 edges 3.414 mm from 0
            problem: 1 non-manifold vertex: 0
        "#]],
    );
}

#[test]
fn tetrahedra_touching_at_a_tip_make_a_non_manifold_vertex() {
    // Two closed surfaces sharing only vertex 0: no boundary edges, yet not a manifold.
    let m = mesh(
        &[
            [0., 0., 0.],
            [1., 0., 1.],
            [-1., 0., 1.],
            [0., 1., 1.],
            [1., 0., -1.],
            [-1., 0., -1.],
            [0., 1., -1.],
        ],
        &[[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2], [0, 5, 4], [0, 6, 5], [0, 4, 6], [4, 5, 6]],
    );
    let r = inspect::inspect(&m);
    assert_eq!(r.defects.non_manifold_vertices.examples, vec![0]);
    assert_eq!(r.boundary.edges, 0);
    assert_eq!(r.defects.non_manifold_edges.count, 0);
}

#[test]
fn huge_bowtie_fan_stays_linear_and_splits_into_loops() {
    // 50 000 triangles meeting only at vertex 0: its boundary degree is 100 000, which a walk
    // that rescans a vertex's edges on every visit would turn into billions of steps.
    let count = 50_000u32;
    let mut positions = vec![[0f32; 3]];
    let mut triangles = Vec::new();
    for i in 0..count {
        let angle = i as f32 * 1e-4;
        positions.push([angle.cos(), angle.sin(), 0.0]);
        positions.push([angle.cos(), angle.sin(), 1.0]);
        triangles.push([0, 2 * i + 1, 2 * i + 2]);
    }
    let r = inspect::inspect(&mesh(&positions, &triangles));
    assert_eq!((r.boundary.closed_loops, r.boundary.open_chains), (count as usize, 0));
    assert_eq!(r.boundary.longest.len(), 20);
    assert_eq!(r.defects.non_manifold_vertices.examples, vec![0]);
    assert_eq!(r.components.count, 1);
}

#[test]
fn flipped_neighbour_is_inconsistent_orientation() {
    check(
        &mesh(&QUAD, &[[0, 1, 2], [0, 3, 2]]),
        expect![[r#"
            4 vertices, 2 faces, area 1.000 mm²
            edges: 5 edges, 1.000-1.414 mm, mean 1.083 mm, median 1.000 mm, std 0.166 mm
            components: 1 [2]
            boundary: 4 edges, 1 closed, 0 open, 4.000 mm | loop 4 edges 4.000 mm from 0
            problem: 1 inconsistently oriented edge (two faces run the same way): 0-2
        "#]],
    );
}

/// Two unit squares side by side, then one of every problem clean_all can fix.
fn dirty() -> Mesh {
    mesh(
        &[
            [0., 0., 0.],
            [1., 0., 0.],
            [1., 1., 0.],
            [0., 1., 0.],
            [2., 0., 0.],
            [2., 1., 0.],
            [5., 5., 5.],
            [6., 6., 6.],
            [7., 7., 7.],
            [9., 0., 0.],
            [10., 0., 0.],
            [0., 1., 0.],
        ],
        &[
            [0, 1, 2],
            [0, 2, 3],
            [1, 4, 5],
            [1, 5, 2],
            [2, 0, 1], // duplicate of 0, rotated
            [3, 2, 0], // duplicate of 1, flipped
            [1, 1, 4], // repeated vertex
            [6, 7, 8], // collinear: zero area
        ],
    )
}

#[test]
fn dirty_mesh_reports_each_problem_exactly() {
    check(
        &dirty(),
        expect![[r#"
            12 vertices, 8 faces, area 3.000 mm²
            edges: 12 edges, 1.000-3.464 mm, mean 1.396 mm, median 1.000 mm, std 0.683 mm
            components: 2 [4, 1]
            boundary: 9 edges, 2 closed, 0 open, 12.928 mm | loop 3 edges 6.928 mm from 6 | loop 6 edges 6.000 mm from 0
            problem: 1 degenerate face (repeated vertex): 6
            problem: 1 degenerate face (zero area): 7
            problem: 2 duplicate faces: 4, 5
            problem: 3 unreferenced vertices: 9, 10, 11
            problem: 1 duplicate vertex (same position as an earlier vertex): 11
        "#]],
    );
}

#[test]
fn clean_all_fixes_the_dirty_mesh_as_reported() {
    let unit = SourceUnit { unit: Unit::Centimetre, basis: UnitBasis::Declared };
    let before = dirty().with_source_unit(unit);
    let (after, reports) = clean::clean_all(before.clone());
    let lines: Vec<String> = reports.iter().map(|r| r.to_string()).collect();
    expect![[r#"
        [
            "merge_duplicate_vertices: 1 vertex merged (11 vertices, 8 faces left)",
            "remove_degenerate_faces: 2 faces removed (11 vertices, 6 faces left)",
            "remove_duplicate_faces: 2 faces removed (11 vertices, 4 faces left)",
            "remove_unreferenced_vertices: 5 vertices removed (6 vertices, 4 faces left)",
        ]
    "#]]
    .assert_debug_eq(&lines);
    check(
        &after,
        expect![[r#"
            6 vertices, 4 faces, area 2.000 mm²
            edges: 9 edges, 1.000-1.414 mm, mean 1.092 mm, median 1.000 mm, std 0.172 mm
            components: 1 [4]
            boundary: 6 edges, 1 closed, 0 open, 6.000 mm | loop 6 edges 6.000 mm from 0
            problems: none
        "#]],
    );
    assert_eq!(after.source_unit(), unit);
    let last = reports.last().unwrap();
    assert_eq!((after.vertex_count(), after.triangle_count()), (last.vertices, last.faces));
    assert_counts_add_up(&before, &reports);
}

#[test]
fn attributes_travel_with_their_vertices() {
    let n = dirty().vertex_count();
    let tag = |v: usize| [v as u8, 0, 0, 255];
    let before = dirty()
        .with_colors((0..n).map(tag).collect())
        .unwrap()
        .with_normals((0..n).map(|v| [v as f32, 0., 1.]).collect())
        .unwrap()
        .with_uvs((0..n).map(|v| [v as f32, 0.5]).collect())
        .unwrap();
    let (after, _) = clean::clean_all(before.clone());
    let colors = after.colors().unwrap();
    let normals = after.normals().unwrap();
    let uvs = after.uvs().unwrap();
    // Vertex 11 was merged into 3 (same position); 6-10 were dropped.
    let origins: Vec<u8> = colors.iter().map(|c| c[0]).collect();
    assert_eq!(origins, vec![0, 1, 2, 3, 4, 5]);
    for (v, &o) in origins.iter().enumerate() {
        assert_eq!(after.positions()[v], before.positions()[o as usize]);
        assert_eq!(normals[v][0], f32::from(o));
        assert_eq!(uvs[v][0], f32::from(o));
    }
}

#[test]
fn merge_keeps_the_first_vertex_and_treats_negative_zero_as_zero() {
    let m = mesh(
        &[[0., 0., 0.], [1., 0., 0.], [0., 1., 0.], [-0., 0., 0.], [1., 0., 0.]],
        &[[3, 4, 2], [0, 1, 2]],
    )
    .with_colors(vec![[0; 4], [1; 4], [2; 4], [3; 4], [4; 4]])
    .unwrap();
    let (merged, report) = clean::merge_duplicate_vertices(m);
    assert_eq!(report.vertices_merged, 2);
    assert_eq!(merged.triangles(), &[[0, 1, 2], [0, 1, 2]]);
    assert_eq!(merged.colors().unwrap(), &[[0; 4], [1; 4], [2; 4]]);
    let (deduped, report) = clean::remove_duplicate_faces(merged);
    assert_eq!(report.faces_removed, 1);
    assert_eq!(deduped.triangles(), &[[0, 1, 2]]);
}

#[test]
fn cleaning_degenerate_and_empty_meshes_does_not_panic() {
    let all_degenerate = mesh(&QUAD, &[[0, 0, 1], [1, 2, 2], [3, 3, 3]]);
    let (m, reports) = clean::clean_all(all_degenerate);
    assert_eq!((m.vertex_count(), m.triangle_count()), (0, 0));
    assert_eq!(reports[1].faces_removed, 3);
    assert_eq!(reports[3].vertices_removed, 4);

    let (m, reports) = clean::clean_all(mesh(&QUAD, &[]));
    assert_eq!(m.vertex_count(), 0);
    assert_eq!(reports[3].vertices_removed, 4);

    let (m, reports) = clean::clean_all(Mesh::default());
    assert_eq!(m, Mesh::default());
    assert!(reports.iter().all(|r| !r.changed()));

    let r = inspect::inspect(&Mesh::default());
    assert_eq!(r.edges, None);
    assert_eq!(r.bounding_box, None);
    assert!(r.problems().is_empty());
}

#[test]
fn report_lists_stay_bounded_on_a_triangle_soup() {
    // 100 copies of the same triangle: 99 duplicates, but only 20 examples kept.
    let m = mesh(&QUAD[..3], &[[0, 1, 2]; 100]);
    let r = inspect::inspect(&m);
    assert_eq!(r.defects.duplicate_faces.count, 99);
    assert_eq!(r.defects.duplicate_faces.examples, (1..=20).collect::<Vec<_>>());
    assert_eq!(r.problems(), vec!["99 duplicate faces, e.g. 1, 2, 3, 4, 5".to_string()]);
    // Duplicates are left out of the topology checks, so the lone triangle is just open.
    assert_eq!(r.boundary.closed_loops, 1);
    assert_eq!(r.defects.non_manifold_edges.count, 0);
}

#[test]
fn surface_area_and_edge_stats_standalone() {
    assert!((inspect::surface_area(&cube()) - 6.0).abs() < 1e-9);
    let stats = inspect::edge_stats(&cube()).unwrap();
    assert_eq!(stats.count, 18);
    assert_eq!((stats.min, stats.max), (1.0, 2f64.sqrt()));
    assert_eq!(inspect::edge_stats(&mesh(&QUAD, &[])), None);
}

/// Every step's counts follow from the one before: the mesh shrinks exactly as reported.
fn assert_counts_add_up(before: &Mesh, reports: &[CleanReport]) {
    let (mut vertices, mut faces) = (before.vertex_count(), before.triangle_count());
    for r in reports {
        assert_eq!(r.vertices, vertices - r.vertices_removed - r.vertices_merged, "{r}");
        assert_eq!(r.faces, faces - r.faces_removed, "{r}");
        (vertices, faces) = (r.vertices, r.faces);
    }
}

// ---- random meshes -------------------------------------------------------------------------

/// Small meshes on a coarse grid, so duplicate positions, collinear faces, shared edges and
/// non-manifold configurations are all common.
fn arb_mesh() -> impl Strategy<Value = Mesh> {
    (0usize..14).prop_flat_map(|n| {
        let coord = (0u8..3).prop_map(f32::from);
        let positions = prop::collection::vec([coord.clone(), coord.clone(), coord], n);
        let triangles = if n == 0 {
            Just(Vec::new()).boxed()
        } else {
            let i = 0..n as u32;
            prop::collection::vec([i.clone(), i.clone(), i], 0..24).boxed()
        };
        (positions, triangles).prop_map(|(p, t)| {
            let n = p.len();
            let m = Mesh::new(p, t).unwrap();
            m.with_colors((0..n).map(|v| [v as u8, 0, 0, 255]).collect()).unwrap()
        })
    })
}

/// Undirected edges of the faces with three distinct vertices, each face counted once per
/// vertex set, with the number of faces using each edge.
fn reference_edges(m: &Mesh) -> BTreeMap<(u32, u32), usize> {
    let mut seen = BTreeSet::new();
    let mut edges = BTreeMap::new();
    for &[a, b, c] in m.triangles() {
        let mut key = [a, b, c];
        key.sort();
        if a == b || b == c || a == c || !seen.insert(key) {
            continue;
        }
        for (x, y) in [(a, b), (b, c), (c, a)] {
            *edges.entry((x.min(y), x.max(y))).or_insert(0) += 1;
        }
    }
    edges
}

fn reference_component_count(m: &Mesh) -> usize {
    let n = m.vertex_count();
    let mut adj = vec![Vec::new(); n];
    let mut used = vec![false; n];
    for &[a, b, c] in m.triangles() {
        if a == b || b == c || a == c {
            continue;
        }
        for (x, y) in [(a, b), (b, c), (c, a)] {
            adj[x as usize].push(y as usize);
            adj[y as usize].push(x as usize);
            used[x as usize] = true;
        }
    }
    let mut seen = vec![false; n];
    let mut count = 0;
    for s in 0..n {
        if !used[s] || seen[s] {
            continue;
        }
        count += 1;
        let mut stack = vec![s];
        seen[s] = true;
        while let Some(v) = stack.pop() {
            for &w in &adj[v] {
                if !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                }
            }
        }
    }
    count
}

proptest! {
    #[test]
    fn inspection_matches_brute_force(m in arb_mesh()) {
        let r = inspect::inspect(&m);
        let edges = reference_edges(&m);
        prop_assert_eq!(r.edges.as_ref().map_or(0, |e| e.count), edges.len());
        prop_assert_eq!(r.boundary.edges, edges.values().filter(|&&c| c == 1).count());
        prop_assert_eq!(r.defects.non_manifold_edges.count, edges.values().filter(|&&c| c > 2).count());
        prop_assert_eq!(r.components.count, reference_component_count(&m));

        // The loops use every boundary edge exactly once, and only boundary edges.
        let loops = inspect::boundary_loops(&m);
        prop_assert_eq!(loops.iter().map(|l| l.edge_count()).sum::<usize>(), r.boundary.edges);
        let mut walked = BTreeSet::new();
        for l in &loops {
            let v = &l.vertices;
            let closing = if l.closed { Some((v[v.len() - 1], v[0])) } else { None };
            for (a, b) in v.windows(2).map(|w| (w[0], w[1])).chain(closing) {
                let key = (a.min(b), a.max(b));
                prop_assert_eq!(edges.get(&key), Some(&1));
                prop_assert!(walked.insert(key), "edge {:?} walked twice", key);
            }
        }
    }

    #[test]
    fn clean_all_is_valid_complete_and_idempotent(m in arb_mesh()) {
        let (cleaned, reports) = clean::clean_all(m.clone());
        assert_counts_add_up(&m, &reports);
        let (positions, triangles, _, colors, _) = cleaned.clone().into_parts();
        let colors = colors.unwrap();
        prop_assert_eq!(colors.len(), positions.len());
        prop_assert!(Mesh::new(positions.clone(), triangles.clone()).is_ok());

        // Each kept vertex carries the attributes of the first original vertex at its position.
        for (v, c) in colors.iter().enumerate() {
            let origin = c[0] as usize;
            prop_assert_eq!(positions[v], m.positions()[origin]);
            prop_assert_eq!(m.positions().iter().position(|p| *p == positions[v]), Some(origin));
        }

        let d = inspect::inspect(&cleaned).defects;
        prop_assert_eq!(
            [d.repeated_vertex_faces.count, d.zero_area_faces.count, d.duplicate_faces.count,
             d.unreferenced_vertices.count, d.duplicate_vertices.count],
            [0; 5]
        );

        let (again, reports) = clean::clean_all(cleaned.clone());
        prop_assert!(reports.iter().all(|r| !r.changed()), "{:?}", reports);
        prop_assert_eq!(again, cleaned);
    }
}

/// Run with `cargo test -p facevault-mesh --release -- --ignored --nocapture large_grid`.
#[test]
#[ignore = "timing on 1.7M triangles; run in release"]
fn large_grid_inspects_quickly() {
    let side = 922u32;
    let n = (side + 1) * (side + 1);
    // Scatter vertex and face order, as real scans are not laid out row by row. 1_000_003 is a
    // prime dividing neither count, so multiplying by it modulo a count permutes the indices.
    let scatter = |i: u32, len: u32| (u64::from(i) * 1_000_003 % u64::from(len)) as u32;
    let mut positions = vec![[0f32; 3]; n as usize];
    for y in 0..=side {
        for x in 0..=side {
            positions[scatter(y * (side + 1) + x, n) as usize] = [x as f32 * 0.25, y as f32 * 0.25, 0.0];
        }
    }
    let at = |x: u32, y: u32| scatter(y * (side + 1) + x, n);
    let faces = 2 * side * side;
    let mut triangles = vec![[0u32; 3]; faces as usize];
    for y in 0..side {
        for x in 0..side {
            let f = 2 * (y * side + x);
            triangles[scatter(f, faces) as usize] = [at(x, y), at(x + 1, y), at(x + 1, y + 1)];
            triangles[scatter(f + 1, faces) as usize] = [at(x, y), at(x + 1, y + 1), at(x, y + 1)];
        }
    }
    let m = mesh(&positions, &triangles);
    let start = std::time::Instant::now();
    let r = inspect::inspect(&m);
    let inspected = start.elapsed();
    let start = std::time::Instant::now();
    let (cleaned, _) = clean::clean_all(m.clone());
    let cleaned_in = start.elapsed();
    println!("{} triangles: inspect {inspected:?}, clean_all {cleaned_in:?}", m.triangle_count());
    assert_eq!(r.components.count, 1);
    assert_eq!((r.boundary.closed_loops, r.boundary.edges), (1, 4 * side as usize));
    assert!(r.problems().is_empty());
    assert_eq!(cleaned, m);
}
