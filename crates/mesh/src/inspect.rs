//! Inspection: bounding box, surface area, edge statistics, components, boundary loops, and the
//! problems a scan can have (degenerate or duplicate faces, unreferenced or duplicate vertices,
//! non-manifold edges and vertices, inconsistent orientation). Nothing here changes a mesh; see
//! [`crate::clean`] for that.
//!
//! For most cases call [`inspect`]. It files faces and corners under their vertices with
//! counting sorts and then works vertex by vertex, with no hash maps and no mesh-wide random
//! walks: a 1.7M-triangle scan in scattered vertex order takes about 0.35 s in a release build.
//!
//! A face with a repeated vertex index is not a triangle: it is reported as degenerate and left
//! out of every topology check (edges, boundaries, components, manifoldness, orientation, and
//! duplicate detection). A later copy of a duplicate face is reported as a duplicate and also left
//! out of the topology checks, so one stray copy does not show up again as non-manifold edges.
//! Faces with three distinct vertices but zero area do take part in topology.

use std::fmt;

use serde::Serialize;

use crate::mesh::Mesh;

/// Below this area (mm²) a triangle with three distinct vertices counts as degenerate.
pub const ZERO_AREA_MM2: f64 = 1e-12;

/// How many example indices a report keeps per kind of problem.
pub const MAX_EXAMPLES: usize = 20;

/// An axis-aligned bounding box in mm.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Aabb {
    pub min: [f32; 3],
    pub max: [f32; 3],
}

impl Aabb {
    pub fn extent(&self) -> [f32; 3] {
        [self.max[0] - self.min[0], self.max[1] - self.min[1], self.max[2] - self.min[2]]
    }
    pub fn max_extent(&self) -> f32 {
        let e = self.extent();
        e[0].max(e[1]).max(e[2])
    }
}

/// The bounding box of some points, or `None` when there are none.
pub fn bounding_box(points: &[[f32; 3]]) -> Option<Aabb> {
    let first = *points.first()?;
    let mut b = Aabb { min: first, max: first };
    for p in points {
        for ((lo, hi), &c) in b.min.iter_mut().zip(&mut b.max).zip(p) {
            *lo = lo.min(c);
            *hi = hi.max(c);
        }
    }
    Some(b)
}

/// Total area of all faces in mm², duplicates included (computed in `f64`).
pub fn surface_area(mesh: &Mesh) -> f64 {
    // Folding from +0.0: an empty f64 `sum()` is -0.0, which would print as "-0".
    mesh.triangles().iter().map(|&t| triangle_area(mesh.positions(), t)).fold(0.0, |a, b| a + b)
}

/// Lengths of the unique edges, in mm.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EdgeStats {
    pub count: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub median: f64,
    /// Population standard deviation.
    pub std: f64,
}

/// Statistics over the unique edges of the mesh, or `None` when it has no edges.
pub fn edge_stats(mesh: &Mesh) -> Option<EdgeStats> {
    let faces = classify_faces(mesh.triangles(), mesh.vertex_count());
    EdgeStats::of(scan_edges(mesh, &faces.skip).lengths)
}

impl EdgeStats {
    fn of(mut lengths: Vec<f64>) -> Option<EdgeStats> {
        let count = lengths.len();
        if count == 0 {
            return None;
        }
        let n = count as f64;
        let mean = lengths.iter().sum::<f64>() / n;
        let var = lengths.iter().map(|l| (l - mean) * (l - mean)).sum::<f64>() / n;
        let min = lengths.iter().copied().fold(f64::INFINITY, f64::min);
        let max = lengths.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mid = count / 2;
        let (lower, &mut upper, _) = lengths.select_nth_unstable_by(mid, f64::total_cmp);
        let median = if count % 2 == 1 {
            upper
        } else {
            (lower.iter().copied().fold(f64::NEG_INFINITY, f64::max) + upper) / 2.0
        };
        Some(EdgeStats { count, min, max, mean, median, std: var.sqrt() })
    }
}

/// Connected components: triangles that share a vertex belong to the same component.
/// Vertices that no triangle uses belong to none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Components {
    /// Triangles per component, largest first; the position is the component's label.
    triangle_counts: Vec<usize>,
    /// The label of each vertex, or `NO_COMPONENT`.
    vertex_labels: Vec<u32>,
}

const NO_COMPONENT: u32 = u32::MAX;

impl Components {
    pub fn count(&self) -> usize {
        self.triangle_counts.len()
    }
    /// Triangles in the largest component (0 for a mesh without triangles).
    pub fn largest_triangles(&self) -> usize {
        self.triangle_counts.first().copied().unwrap_or(0)
    }
    /// Triangles in each component, largest first. Component labels index this slice.
    pub fn triangle_counts(&self) -> &[usize] {
        &self.triangle_counts
    }
    /// The label of the component a vertex belongs to, `None` for a vertex no triangle uses.
    pub fn of_vertex(&self, vertex: u32) -> Option<usize> {
        match self.vertex_labels.get(vertex as usize) {
            Some(&label) if label != NO_COMPONENT => Some(label as usize),
            _ => None,
        }
    }
}

/// The connected components of the mesh, joined by shared vertices.
pub fn connected_components(mesh: &Mesh) -> Components {
    let faces = classify_faces(mesh.triangles(), mesh.vertex_count());
    components_of(mesh, &faces.skip)
}

/// A chain of boundary edges (edges used by exactly one face).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoundaryLoop {
    /// The vertices in walking order, mostly following the faces' orientation. A closed loop
    /// does not repeat its first vertex at the end.
    pub vertices: Vec<u32>,
    pub length_mm: f64,
    /// False for a chain that could not be closed (only happens around non-manifold parts).
    pub closed: bool,
}

impl BoundaryLoop {
    pub fn edge_count(&self) -> usize {
        if self.closed {
            self.vertices.len()
        } else {
            self.vertices.len().saturating_sub(1)
        }
    }
}

/// The boundary edges chained into loops. A vertex where several loops meet (a bowtie) is
/// walked through once per loop; chains that cannot close are reported with `closed: false`.
pub fn boundary_loops(mesh: &Mesh) -> Vec<BoundaryLoop> {
    let faces = classify_faces(mesh.triangles(), mesh.vertex_count());
    let scan = scan_edges(mesh, &faces.skip);
    chain_boundary(mesh.positions(), &scan.boundary)
}

/// How many of something were found, and the first few of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Occurrences<T> {
    pub count: usize,
    /// At most [`MAX_EXAMPLES`], in index order.
    pub examples: Vec<T>,
}

impl<T> Default for Occurrences<T> {
    fn default() -> Self {
        Occurrences { count: 0, examples: Vec::new() }
    }
}

impl<T> Occurrences<T> {
    fn push(&mut self, item: T) {
        self.count += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(item);
        }
    }
}

impl<T> FromIterator<T> for Occurrences<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut found = Occurrences::default();
        for item in iter {
            found.push(item);
        }
        found
    }
}

/// Everything [`inspect`] found wrong. Face indices are `usize`, vertex indices `u32`, edges are
/// `[smaller, larger]` vertex pairs.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct Defects {
    /// Faces that list the same vertex twice.
    pub repeated_vertex_faces: Occurrences<usize>,
    /// Faces with three distinct vertices and an area below [`ZERO_AREA_MM2`].
    pub zero_area_faces: Occurrences<usize>,
    /// Faces with the same three vertices as an earlier face, in any order or orientation.
    pub duplicate_faces: Occurrences<usize>,
    /// Vertices that no face lists.
    pub unreferenced_vertices: Occurrences<u32>,
    /// Vertices at exactly the same position as an earlier vertex.
    pub duplicate_vertices: Occurrences<u32>,
    /// Edges shared by more than two faces.
    pub non_manifold_edges: Occurrences<[u32; 2]>,
    /// Vertices whose faces form more than one fan (joined across edges shared by exactly two
    /// faces): bowties, and the ends of non-manifold edges.
    pub non_manifold_vertices: Occurrences<u32>,
    /// Edges shared by two faces that both run along it the same way.
    pub inconsistent_orientation: Occurrences<[u32; 2]>,
}

/// The components in a [`Report`]: counts, plus the sizes of the largest few.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComponentSummary {
    pub count: usize,
    pub largest_triangles: usize,
    /// Triangles per component, largest first, at most [`MAX_EXAMPLES`].
    pub triangle_counts: Vec<usize>,
}

/// The boundary in a [`Report`]: totals, plus the longest few loops.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoundarySummary {
    /// Edges used by exactly one face.
    pub edges: usize,
    pub closed_loops: usize,
    pub open_chains: usize,
    pub total_length_mm: f64,
    /// The longest loops and chains, longest first, at most [`MAX_EXAMPLES`].
    pub longest: Vec<LoopSummary>,
}

/// One boundary loop, without its vertex list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoopSummary {
    pub edges: usize,
    pub length_mm: f64,
    pub closed: bool,
    pub first_vertex: u32,
}

/// Everything [`inspect`] learns about a mesh. Index lists are bounded, so the JSON of a badly
/// broken million-face mesh stays small.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub vertices: usize,
    pub triangles: usize,
    pub bounding_box: Option<Aabb>,
    pub surface_area_mm2: f64,
    pub edges: Option<EdgeStats>,
    pub components: ComponentSummary,
    pub boundary: BoundarySummary,
    pub defects: Defects,
}

/// Inspect a mesh: geometry, topology and defects, in one call.
pub fn inspect(mesh: &Mesh) -> Report {
    let positions = mesh.positions();
    let triangles = mesh.triangles();
    let faces = classify_faces(triangles, positions.len());

    let mut surface_area_mm2 = 0.0;
    let mut zero_area_faces = Occurrences::default();
    let mut referenced = vec![false; positions.len()];
    for (f, &t) in triangles.iter().enumerate() {
        let area = triangle_area(positions, t);
        surface_area_mm2 += area;
        if !has_repeated_vertex(t) && area < ZERO_AREA_MM2 {
            zero_area_faces.push(f);
        }
        for v in t {
            referenced[v as usize] = true;
        }
    }
    let unreferenced_vertices = (0..positions.len()).filter(|&v| !referenced[v]).map(|v| v as u32).collect();
    drop(referenced);
    let duplicate_vertices = first_at_same_position(positions)
        .into_iter()
        .zip(0u32..)
        .filter(|&(first, v)| first != v)
        .map(|(_, v)| v)
        .collect();

    let scan = scan_edges(mesh, &faces.skip);
    let components = components_of(mesh, &faces.skip);
    let loops = chain_boundary(positions, &scan.boundary);

    let mut longest: Vec<LoopSummary> = loops
        .iter()
        .map(|l| LoopSummary {
            edges: l.edge_count(),
            length_mm: l.length_mm,
            closed: l.closed,
            first_vertex: l.vertices.first().copied().unwrap_or(0),
        })
        .collect();
    longest.sort_by(|a, b| b.length_mm.total_cmp(&a.length_mm).then(a.first_vertex.cmp(&b.first_vertex)));
    longest.truncate(MAX_EXAMPLES);

    Report {
        vertices: positions.len(),
        triangles: triangles.len(),
        bounding_box: bounding_box(positions),
        surface_area_mm2,
        edges: EdgeStats::of(scan.lengths),
        components: ComponentSummary {
            count: components.count(),
            largest_triangles: components.largest_triangles(),
            triangle_counts: components.triangle_counts.iter().copied().take(MAX_EXAMPLES).collect(),
        },
        boundary: BoundarySummary {
            edges: scan.boundary.len(),
            closed_loops: loops.iter().filter(|l| l.closed).count(),
            open_chains: loops.iter().filter(|l| !l.closed).count(),
            total_length_mm: loops.iter().map(|l| l.length_mm).fold(0.0, |a, b| a + b),
            longest,
        },
        defects: Defects {
            repeated_vertex_faces: faces.repeated,
            zero_area_faces,
            duplicate_faces: faces.duplicates,
            unreferenced_vertices,
            duplicate_vertices,
            non_manifold_edges: scan.non_manifold_edges,
            non_manifold_vertices: scan.non_manifold_vertices,
            inconsistent_orientation: scan.inconsistent,
        },
    }
}

impl Report {
    /// One human-readable line per kind of problem found, e.g.
    /// `12 degenerate faces (repeated vertex), e.g. 4, 17, 99`. Empty for a clean mesh.
    pub fn problems(&self) -> Vec<String> {
        let d = &self.defects;
        let mut lines = Vec::new();
        let faces = ("face", "faces");
        let vertices = ("vertex", "vertices");
        let edges = ("edge", "edges");
        line(&mut lines, &d.repeated_vertex_faces, faces, "degenerate", " (repeated vertex)");
        line(&mut lines, &d.zero_area_faces, faces, "degenerate", " (zero area)");
        line(&mut lines, &d.duplicate_faces, faces, "duplicate", "");
        line(&mut lines, &d.unreferenced_vertices, vertices, "unreferenced", "");
        line(
            &mut lines,
            &d.duplicate_vertices,
            vertices,
            "duplicate",
            " (same position as an earlier vertex)",
        );
        line(&mut lines, &d.non_manifold_edges, edges, "non-manifold", " (shared by more than two faces)");
        line(&mut lines, &d.non_manifold_vertices, vertices, "non-manifold", "");
        line(
            &mut lines,
            &d.inconsistent_orientation,
            edges,
            "inconsistently oriented",
            " (two faces run the same way)",
        );
        lines
    }
}

/// How many examples a problem line shows.
const LINE_EXAMPLES: usize = 5;

fn line<T: Example>(
    lines: &mut Vec<String>,
    found: &Occurrences<T>,
    (one, many): (&str, &str),
    adjective: &str,
    detail: &str,
) {
    if found.count == 0 {
        return;
    }
    let noun = if found.count == 1 { one } else { many };
    let shown: Vec<String> = found.examples.iter().take(LINE_EXAMPLES).map(Example::show).collect();
    let lead = if found.count > shown.len() { ", e.g." } else { ":" };
    lines.push(format!("{} {adjective} {noun}{detail}{lead} {}", found.count, shown.join(", ")));
}

/// How an example index is written in a problem line.
trait Example {
    fn show(&self) -> String;
}

impl Example for usize {
    fn show(&self) -> String {
        format!("{self}")
    }
}

impl Example for u32 {
    fn show(&self) -> String {
        format!("{self}")
    }
}

impl Example for [u32; 2] {
    fn show(&self) -> String {
        format!("{}-{}", self[0], self[1])
    }
}

impl fmt::Display for EdgeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} edges, {:.3}-{:.3} mm, mean {:.3} mm, median {:.3} mm, std {:.3} mm",
            self.count, self.min, self.max, self.mean, self.median, self.std
        )
    }
}

// ---- shared with `clean` -----------------------------------------------------------------

/// True when a face lists some vertex twice.
pub(crate) fn has_repeated_vertex([a, b, c]: [u32; 3]) -> bool {
    a == b || b == c || a == c
}

/// Area of a face in mm², computed in `f64`. Indices must be in range (a [`Mesh`] invariant).
pub(crate) fn triangle_area(positions: &[[f32; 3]], t: [u32; 3]) -> f64 {
    let [a, b, c] = t.map(|i| positions[i as usize].map(f64::from));
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    0.5 * (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt()
}

/// True for each face that repeats the vertex set of an earlier face (in any order or
/// orientation). Faces with a repeated vertex never count as duplicates. `vertex_count` bounds
/// the indices (a [`Mesh`] invariant).
pub(crate) fn later_duplicates(triangles: &[[u32; 3]], vertex_count: usize) -> Vec<bool> {
    // Duplicates share their smallest vertex, so file faces under it (a linear counting sort)
    // and only compare within each small bucket.
    let sorted = |t: [u32; 3]| {
        let mut k = t;
        k.sort_unstable();
        k
    };
    let candidates = || {
        triangles.iter().enumerate().filter(|&(_, &t)| !has_repeated_vertex(t)).map(|(f, &t)| (f, sorted(t)))
    };
    let mut start = vec![0usize; vertex_count + 1];
    for (_, [lo, _, _]) in candidates() {
        start[lo as usize + 1] += 1;
    }
    for v in 0..vertex_count {
        start[v + 1] += start[v];
    }
    // (the other two vertices, face)
    let mut buckets = vec![(0u64, 0usize); start[vertex_count]];
    let mut fill = start.clone();
    for (f, [lo, mid, hi]) in candidates() {
        buckets[fill[lo as usize]] = ((u64::from(mid) << 32) | u64::from(hi), f);
        fill[lo as usize] += 1;
    }
    drop(fill);
    let mut later = vec![false; triangles.len()];
    for v in 0..vertex_count {
        let bucket = &mut buckets[start[v]..start[v + 1]];
        if bucket.len() < 2 {
            continue;
        }
        bucket.sort_unstable();
        for group in bucket.chunk_by(|x, y| x.0 == y.0) {
            // Sorted by face index within the group, so the first face is the one to keep.
            for &(_, f) in &group[1..] {
                later[f] = true;
            }
        }
    }
    later
}

/// For each vertex, the first vertex with exactly the same position (itself if none is
/// earlier). `-0.0` equals `0.0`.
pub(crate) fn first_at_same_position(positions: &[[f32; 3]]) -> Vec<u32> {
    // Adding 0.0 turns -0.0 into +0.0, so equal coordinates have equal bits (no NaN in a Mesh).
    let mut order: Vec<([u32; 3], u32)> =
        positions.iter().zip(0u32..).map(|(p, v)| (p.map(|c| (c + 0.0).to_bits()), v)).collect();
    order.sort_unstable();
    let mut first: Vec<u32> = (0u32..).take(positions.len()).collect();
    for group in order.chunk_by(|x, y| x.0 == y.0) {
        // Sorted by index within the group, so the group's first vertex is the earliest.
        let earliest = group[0].1;
        for &(_, v) in &group[1..] {
            first[v as usize] = earliest;
        }
    }
    first
}

// ---- internals ---------------------------------------------------------------------------

/// The per-face verdicts every inspection needs.
struct FaceClasses {
    /// Faces the topology checks leave out: repeated vertex, or a later duplicate copy.
    skip: Vec<bool>,
    repeated: Occurrences<usize>,
    duplicates: Occurrences<usize>,
}

fn classify_faces(triangles: &[[u32; 3]], vertex_count: usize) -> FaceClasses {
    let mut skip = later_duplicates(triangles, vertex_count);
    let duplicates = skip.iter().enumerate().filter(|&(_, &d)| d).map(|(f, _)| f).collect();
    let mut repeated = Occurrences::default();
    for (f, &t) in triangles.iter().enumerate() {
        if has_repeated_vertex(t) {
            repeated.push(f);
            skip[f] = true;
        }
    }
    FaceClasses { skip, repeated, duplicates }
}

/// What one pass over the vertex stars finds.
struct EdgeScan {
    /// Length of each unique edge, mm.
    lengths: Vec<f64>,
    /// Edges used by one face, directed as that face runs, in `[smaller, larger]` key order.
    boundary: Vec<[u32; 2]>,
    non_manifold_edges: Occurrences<[u32; 2]>,
    inconsistent: Occurrences<[u32; 2]>,
    non_manifold_vertices: Occurrences<u32>,
}

/// File every corner under its vertex (a counting sort, so linear), then read each vertex's
/// star on its own: the faces using edge v-w are the corners at v that name w, so every edge
/// check is a small local sort, and fans are a small local union-find. This keeps the random
/// memory access of a global edge table or a mesh-wide union-find out of the hot loop.
fn scan_edges(mesh: &Mesh, skip: &[bool]) -> EdgeScan {
    let positions = mesh.positions();
    let triangles = mesh.triangles();
    let n = positions.len();
    let topology = || triangles.iter().zip(skip).filter(|(_, &s)| !s).map(|(&t, _)| t);

    // Row v of `star` holds [next, prev] for each corner at v, in face order.
    let mut start = vec![0usize; n + 1];
    for t in topology() {
        for v in t {
            start[v as usize + 1] += 1;
        }
    }
    for v in 0..n {
        start[v + 1] += start[v];
    }
    let mut fill = start.clone();
    let mut star = vec![[0u32; 2]; start[n]];
    for [a, b, c] in topology() {
        for (v, next, prev) in [(a, b, c), (b, c, a), (c, a, b)] {
            star[fill[v as usize]] = [next, prev];
            fill[v as usize] += 1;
        }
    }
    drop(fill);

    let mut scan = EdgeScan {
        lengths: Vec::new(),
        boundary: Vec::new(),
        non_manifold_edges: Occurrences::default(),
        inconsistent: Occurrences::default(),
        non_manifold_vertices: Occurrences::default(),
    };
    // (other vertex, corner within the row, whether the face runs v -> other)
    let mut around: Vec<(u32, u32, bool)> = Vec::new();
    let mut fans = UnionFind::new(0);
    for v in 0..n {
        let row = &star[start[v]..start[v + 1]];
        if row.is_empty() {
            continue;
        }
        around.clear();
        for (i, &[next, prev]) in (0u32..).zip(row) {
            around.push((next, i, true));
            around.push((prev, i, false));
        }
        around.sort_unstable();
        fans.reset(row.len());
        let v32 = v as u32;
        for group in around.chunk_by(|x, y| x.0 == y.0) {
            let w = group[0].0;
            // Each edge shows up in the stars of both ends; report it from the smaller one.
            let report = v32 < w;
            if report {
                scan.lengths.push(distance(positions, v32, w));
            }
            match *group {
                [(_, _, outgoing)] if report => {
                    scan.boundary.push(if outgoing { [v32, w] } else { [w, v32] })
                }
                [(_, i, out_i), (_, j, out_j)] => {
                    if report && out_i == out_j {
                        scan.inconsistent.push([v32, w]);
                    }
                    fans.union(i as usize, j as usize);
                }
                [_, _, _, ..] if report => scan.non_manifold_edges.push([v32, w]),
                _ => {}
            }
        }
        // A vertex has one fan per set of corners joined across edges shared by two faces.
        if fans.sets > 1 {
            scan.non_manifold_vertices.push(v32);
        }
    }
    scan
}

fn distance(positions: &[[f32; 3]], a: u32, b: u32) -> f64 {
    let (p, q) = (positions[a as usize], positions[b as usize]);
    let d = [0, 1, 2].map(|k| f64::from(q[k]) - f64::from(p[k]));
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

fn components_of(mesh: &Mesh, skip: &[bool]) -> Components {
    let n = mesh.vertex_count();
    let mut uf = UnionFind::new(n);
    let mut used = vec![false; n];
    let topology = || mesh.triangles().iter().zip(skip).filter(|(_, &s)| !s).map(|(&t, _)| t);
    for [a, b, c] in topology() {
        uf.union(a as usize, b as usize);
        uf.union(a as usize, c as usize);
        used[a as usize] = true;
        used[b as usize] = true;
        used[c as usize] = true;
    }
    // Label roots in order of their first vertex, count triangles, then relabel largest first.
    let mut root_label = vec![NO_COMPONENT; n];
    let mut vertex_labels = vec![NO_COMPONENT; n];
    let mut next = 0u32;
    for v in 0..n {
        if used[v] {
            let r = uf.find(v);
            if root_label[r] == NO_COMPONENT {
                root_label[r] = next;
                next += 1;
            }
            vertex_labels[v] = root_label[r];
        }
    }
    drop(root_label);
    let mut counts = vec![0usize; next as usize];
    for t in topology() {
        counts[vertex_labels[t[0] as usize] as usize] += 1;
    }
    let mut order: Vec<u32> = (0..next).collect();
    order.sort_by_key(|&l| std::cmp::Reverse(counts[l as usize]));
    let mut relabel = vec![0u32; next as usize];
    for (new, &old) in order.iter().enumerate() {
        relabel[old as usize] = new as u32;
    }
    for label in vertex_labels.iter_mut().filter(|l| **l != NO_COMPONENT) {
        *label = relabel[*label as usize];
    }
    let triangle_counts = order.iter().map(|&l| counts[l as usize]).collect();
    Components { triangle_counts, vertex_labels }
}

/// Chain directed boundary edges into loops. Walks start at odd-degree vertices (where open
/// chains end), then at junctions (so bowtie loops close separately), then anywhere. At each
/// vertex an edge leaving along the face orientation is preferred. Every step uses up an edge,
/// so this always terminates, in time linear in the edges.
fn chain_boundary(positions: &[[f32; 3]], edges: &[[u32; 2]]) -> Vec<BoundaryLoop> {
    if edges.is_empty() {
        return Vec::new();
    }
    let mut walker = Walker::new(positions, edges);
    let n = positions.len();
    let degree = |v: usize| walker.start[v + 1] - walker.start[v];
    let mut starts: Vec<usize> = (0..n).filter(|&v| degree(v) % 2 == 1).collect();
    starts.extend((0..n).filter(|&v| degree(v) > 2 && degree(v) % 2 == 0));
    starts.extend((0..n).filter(|&v| degree(v) == 2));
    let mut loops = Vec::new();
    for s in starts {
        while let Some(l) = walker.walk_from(s) {
            loops.push(l);
        }
    }
    loops
}

/// Boundary edges in compressed rows per vertex, with a cursor per vertex past used edges.
struct Walker<'a> {
    positions: &'a [[f32; 3]],
    edges: &'a [[u32; 2]],
    /// Row `v` is `adjacent[start[v]..start[v + 1]]`, outgoing edges first.
    start: Vec<usize>,
    adjacent: Vec<usize>,
    /// Everything in row `v` before `cursor[v]` is used.
    cursor: Vec<usize>,
    used: Vec<bool>,
}

impl<'a> Walker<'a> {
    fn new(positions: &'a [[f32; 3]], edges: &'a [[u32; 2]]) -> Walker<'a> {
        let n = positions.len();
        let mut start = vec![0usize; n + 1];
        for &[a, b] in edges {
            start[a as usize + 1] += 1;
            start[b as usize + 1] += 1;
        }
        for v in 0..n {
            start[v + 1] += start[v];
        }
        let mut fill = start.clone();
        let mut adjacent = vec![0usize; edges.len() * 2];
        for end in 0..2 {
            for (e, edge) in edges.iter().enumerate() {
                let v = edge[end] as usize;
                adjacent[fill[v]] = e;
                fill[v] += 1;
            }
        }
        let cursor = start.clone();
        Walker { positions, edges, start, adjacent, cursor, used: vec![false; edges.len()] }
    }

    fn next_unused(&mut self, v: usize) -> Option<usize> {
        while self.cursor[v] < self.start[v + 1] {
            let e = self.adjacent[self.cursor[v]];
            if !self.used[e] {
                return Some(e);
            }
            self.cursor[v] += 1;
        }
        None
    }

    /// Walk from `s` until back at `s` (closed) or stuck (open); `None` if `s` has no edge left.
    fn walk_from(&mut self, s: usize) -> Option<BoundaryLoop> {
        let mut e = self.next_unused(s)?;
        let mut vertices = vec![s as u32];
        let mut length_mm = 0.0;
        let mut at = s;
        loop {
            self.used[e] = true;
            let [a, b] = self.edges[e];
            let next = if a as usize == at { b } else { a };
            length_mm += distance(self.positions, at as u32, next);
            at = next as usize;
            if at == s {
                return Some(BoundaryLoop { vertices, length_mm, closed: true });
            }
            vertices.push(next);
            match self.next_unused(at) {
                Some(found) => e = found,
                None => return Some(BoundaryLoop { vertices, length_mm, closed: false }),
            }
        }
    }
}

/// Disjoint sets with path halving and union by rank, counting the sets.
struct UnionFind {
    parent: Vec<usize>,
    rank: Vec<u8>,
    sets: usize,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n).collect(), rank: vec![0; n], sets: n }
    }

    /// Start over with `n` singletons, reusing the buffers.
    fn reset(&mut self, n: usize) {
        self.parent.clear();
        self.parent.extend(0..n);
        self.rank.clear();
        self.rank.resize(n, 0);
        self.sets = n;
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (child, root) = if self.rank[ra] < self.rank[rb] { (ra, rb) } else { (rb, ra) };
        self.parent[child] = root;
        if self.rank[child] == self.rank[root] {
            self.rank[root] += 1;
        }
        self.sets -= 1;
    }
}
