//! A triangle surface prepared for exact closest-point and ray queries: a 4-wide
//! bounding-volume hierarchy over the triangles in flat arrays, plus area-weighted vertex
//! normals for signing distances and for point-to-plane registration.
//!
//! The tree is built by sorting triangle centroids along a Morton curve and splitting each
//! run at octree-cell boundaries (a linear BVH): a sort and a linear pass, several times
//! faster than median splits, with as few node visits per query on a scan's surface.
//!
//! Queries are exact point-to-triangle (not nearest vertex). Batch queries run in parallel and
//! seed each query with the previous one's triangle, so points given in a spatially coherent
//! order (a scan's stored order) prune almost the whole tree from the start.

use facevault_mesh::Mesh;
use rayon::prelude::*;

/// Triangles per leaf at most.
const LEAF: usize = 4;
/// Children per inner node.
const WIDE: usize = 4;
/// Subtrees below this many triangles are built whole by one thread; above it, their top
/// levels are laid out first. Small in unit tests, so that small meshes take both paths.
const PARALLEL_BUILD: usize = if cfg!(test) { 256 } else { 64 * 1024 };
/// Points per parallel batch in queries: large enough to amortise, small enough to balance.
const BATCH: usize = 2048;
/// Starting capacity of a traversal stack (it grows if a deep tree needs more).
const STACK: usize = 64;

/// An inner node with up to four children, their boxes stored axis by axis so that the four
/// box tests of one visit run side by side. An unused slot has an empty (inverted) box.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Node {
    min: [[f32; WIDE]; 3],
    max: [[f32; WIDE]; 3],
    /// Per child: first triangle of a leaf, or the index of an inner node.
    child: [u32; WIDE],
    /// Per child: triangles in a leaf; 0 for an inner node or an unused slot.
    count: [u32; WIDE],
}

const EMPTY_NODE: Node = Node {
    min: [[f32::INFINITY; WIDE]; 3],
    max: [[f32::NEG_INFINITY; WIDE]; 3],
    child: [u32::MAX; WIDE],
    count: [0; WIDE],
};

/// A triangle's corners and, in the same cache line or the next, its vertex indices (read
/// once the closest triangle is known, to interpolate the normal).
#[derive(Clone, Copy, Debug, Default)]
struct Tri {
    corners: [[f32; 3]; 3],
    vertices: [u32; 3],
}

/// A reference to a subtree during the build.
#[derive(Clone, Copy)]
struct Ref {
    index: u32,
    count: u32,
}

type Bounds = ([f32; 3], [f32; 3]);

const EMPTY: Bounds = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);

/// The result of a closest-point query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Closest {
    /// Closest point on the surface.
    pub point: [f32; 3],
    /// Squared distance from the query point, mm².
    pub dist_sq: f32,
    /// Unit surface normal at the closest point (vertex normals interpolated).
    pub normal: [f32; 3],
    /// True when the closest point lies strictly inside a triangle rather than on an edge or
    /// corner (a point beyond a surface's border always lands on an edge or corner).
    pub interior: bool,
    /// The triangle, in the BVH's internal order (for warm-starting the next query).
    slot: u32,
}

impl Closest {
    /// Distance signed by the surface normal: positive in front of the surface.
    pub fn signed_distance(&self, from: [f32; 3]) -> f32 {
        let d = self.dist_sq.sqrt();
        let v = sub3(from, self.point);
        if dot3(v, self.normal) < 0.0 {
            -d
        } else {
            d
        }
    }

    /// Whether `from` sits over the surface rather than beyond its border: the offset to the
    /// closest point is within ~60° of the normal there (or tiny). Beyond a border the closest
    /// point is on the border edge and the offset runs along the surface instead.
    pub fn is_over_surface(&self, from: [f32; 3]) -> bool {
        if self.interior || self.dist_sq < 1e-6 {
            return true;
        }
        let v = sub3(from, self.point);
        let along = dot3(v, self.normal);
        along * along >= 0.25 * self.dist_sq
    }
}

/// A triangle surface ready for queries. Build once with [`Surface::new`], query many times.
#[derive(Clone, Debug)]
pub struct Surface {
    nodes: Vec<Node>,
    /// The triangles in BVH order.
    tris: Vec<Tri>,
    normals: Vec<[f32; 3]>,
}

fn sub3(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot3(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross3(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// Area-weighted vertex normals from the triangles (unit length; zero for unused vertices).
pub fn vertex_normals(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Vec<[f32; 3]> {
    let mut acc = vec![[0.0f32; 3]; positions.len()];
    for t in triangles {
        let [a, b, c] = t.map(|i| positions.get(i as usize).copied().unwrap_or_default());
        let n = cross3(sub3(b, a), sub3(c, a));
        for &i in t {
            if let Some(s) = acc.get_mut(i as usize) {
                for k in 0..3 {
                    s[k] += n[k];
                }
            }
        }
    }
    acc.par_iter_mut().for_each(|n| {
        let l = dot3(*n, *n).sqrt();
        if l > 0.0 {
            *n = [n[0] / l, n[1] / l, n[2] / l];
        }
    });
    acc
}

impl Surface {
    /// Prepares `mesh` for queries. Normals come from the triangles (their winding defines
    /// outward), not from the file, so that signs follow the surface actually measured.
    pub fn new(mesh: &Mesh) -> Surface {
        Surface::from_parts(
            mesh.positions(),
            mesh.triangles(),
            vertex_normals(mesh.positions(), mesh.triangles()),
        )
    }

    /// As [`Surface::new`] with given unit vertex normals (one per position). Indices are
    /// trusted to be in range, as a [`Mesh`] guarantees.
    pub fn from_parts(positions: &[[f32; 3]], triangles: &[[u32; 3]], normals: Vec<[f32; 3]>) -> Surface {
        let pos = |i: u32| positions.get(i as usize).copied().unwrap_or_default();
        let (keys, shift) = morton_keys(positions, triangles);
        let mask = (1u64 << shift) - 1;
        let tris: Vec<Tri> = keys
            .par_iter()
            .map(|&k| {
                let vertices = triangles.get((k & mask) as usize).copied().unwrap_or_default();
                Tri { corners: vertices.map(pos), vertices }
            })
            .collect();
        let nodes = build_tree(&keys, &Ctx { tris: &tris, shift });
        drop(keys);
        Surface { nodes, tris, normals }
    }

    /// The unit normal of vertex `i` (zero for an unused or out-of-range vertex).
    pub fn vertex_normal(&self, i: usize) -> [f32; 3] {
        self.normals.get(i).copied().unwrap_or_default()
    }

    pub fn triangle_count(&self) -> usize {
        self.tris.len()
    }

    /// Bytes held by the index (nodes, triangles, normals).
    pub fn heap_bytes(&self) -> usize {
        self.nodes.len() * std::mem::size_of::<Node>()
            + self.tris.len() * std::mem::size_of::<Tri>()
            + self.normals.len() * 12
    }

    /// The closest point on the surface to `p`, or `None` for an empty surface.
    pub fn closest(&self, p: [f32; 3]) -> Option<Closest> {
        self.closest_seeded(p, None, &mut Vec::with_capacity(STACK))
    }

    /// Closest points for many points, in parallel; `None` only for an empty surface.
    pub fn closest_many(&self, points: &[[f32; 3]]) -> Vec<Option<Closest>> {
        self.closest_map(points, |_, c| c)
    }

    /// `f(point, closest point)` for many points, in parallel, without keeping the matches:
    /// what a per-vertex map needs, in a fraction of the memory.
    pub fn closest_map<T, F>(&self, points: &[[f32; 3]], f: F) -> Vec<T>
    where
        T: Copy + Default + Send,
        F: Fn([f32; 3], Option<Closest>) -> T + Sync,
    {
        let mut out = vec![T::default(); points.len()];
        out.par_chunks_mut(BATCH).zip(points.par_chunks(BATCH)).for_each(|(out, pts)| {
            let mut seed = None;
            let mut stack = Vec::with_capacity(STACK);
            for (o, &p) in out.iter_mut().zip(pts) {
                let c = self.closest_seeded(p, seed, &mut stack);
                seed = c.map(|c| c.slot);
                *o = f(p, c);
            }
        });
        out
    }

    /// Closest point, starting from the bound given by triangle `seed` (a previous answer for
    /// a nearby point), which prunes most of the tree at once.
    fn closest_seeded(&self, p: [f32; 3], seed: Option<u32>, stack: &mut Vec<(u32, f32)>) -> Option<Closest> {
        if self.nodes.is_empty() {
            return None;
        }
        let mut best_slot = u32::MAX;
        let mut best = ([0.0f32; 3], [0.0f32; 3], f32::INFINITY);
        if let Some((s, tri)) = seed.and_then(|s| Some((s, self.tris.get(s as usize)?))) {
            let (q, bary) = closest_on_triangle(p, &tri.corners);
            let d = sub3(p, q);
            best = (q, bary, dot3(d, d));
            best_slot = s;
        }
        // Each stack entry carries its box distance, so a pruned entry is never read.
        stack.clear();
        stack.push((0, 0.0));
        while let Some((ni, d)) = stack.pop() {
            if d >= best.2 {
                continue;
            }
            let Some(node) = self.nodes.get(ni as usize) else { continue };
            let dist = box_dist4(p, node);
            let order = nearest_first(&dist);
            // Leaves are searched at once, near first, to tighten the bound before any inner
            // child is pushed.
            for &c in &order {
                if dist[c] >= best.2 || node.count[c] == 0 {
                    continue;
                }
                let start = node.child[c] as usize;
                for s in start..start + node.count[c] as usize {
                    let Some(tri) = self.tris.get(s) else { break };
                    let (q, bary) = closest_on_triangle(p, &tri.corners);
                    let v = sub3(p, q);
                    let d2 = dot3(v, v);
                    if d2 < best.2 {
                        best = (q, bary, d2);
                        best_slot = s as u32;
                    }
                }
            }
            // Far children first onto the stack, so the near ones are searched first.
            for &c in order.iter().rev() {
                if node.count[c] == 0 && dist[c] < best.2 && node.child[c] != u32::MAX {
                    stack.push((node.child[c], dist[c]));
                }
            }
        }
        let (point, bary, dist_sq) = best;
        let found = self.tris.get(best_slot as usize)?;
        let tri = &found.vertices;
        let mut n = [0.0f32; 3];
        for (k, &v) in tri.iter().enumerate() {
            let vn = self.normals.get(v as usize).copied().unwrap_or_default();
            for c in 0..3 {
                n[c] += bary[k] * vn[c];
            }
        }
        let len = dot3(n, n).sqrt();
        let normal = if len > 0.0 {
            [n[0] / len, n[1] / len, n[2] / len]
        } else {
            let c = &found.corners;
            let f = cross3(sub3(c[1], c[0]), sub3(c[2], c[0]));
            let l = dot3(f, f).sqrt().max(f32::MIN_POSITIVE);
            [f[0] / l, f[1] / l, f[2] / l]
        };
        let interior = bary.iter().all(|&b| b > 1e-6);
        Some(Closest { point, dist_sq, normal, interior, slot: best_slot })
    }

    /// Where the line through `origin` along `dir` meets the surface nearest to `origin`,
    /// within `max_t` either way: the signed parameter t with origin + t·dir on the surface.
    pub fn nearest_hit_along(&self, origin: [f32; 3], dir: [f32; 3], max_t: f32) -> Option<f32> {
        let inv = dir.map(|d| if d.abs() > 1e-20 { 1.0 / d } else { f32::INFINITY.copysign(d) });
        let mut best = max_t;
        let mut found = None;
        let mut stack = Vec::with_capacity(STACK);
        stack.push(0u32);
        while let Some(ni) = stack.pop() {
            let Some(node) = self.nodes.get(ni as usize) else { continue };
            for c in 0..WIDE {
                let min = [node.min[0][c], node.min[1][c], node.min[2][c]];
                let max = [node.max[0][c], node.max[1][c], node.max[2][c]];
                if node.child[c] == u32::MAX || !slab_hits(origin, dir, inv, &min, &max, best) {
                    continue;
                }
                if node.count[c] > 0 {
                    let start = node.child[c] as usize;
                    for s in start..start + node.count[c] as usize {
                        let Some(tri) = self.tris.get(s) else { break };
                        if let Some(t) = line_triangle(origin, dir, &tri.corners) {
                            if t.abs() <= best && (found.is_none() || t.abs() < best) {
                                best = t.abs();
                                found = Some(t);
                            }
                        }
                    }
                } else {
                    stack.push(node.child[c]);
                }
            }
        }
        found
    }
}

/// The child slots ordered by box distance, nearest first: a branch-free sorting network on
/// keys that hold the distance's bits (ordered like the value, as distances are not negative)
/// with the slot in the two lowest bits. Only the order depends on the key; pruning uses the
/// exact distances.
fn nearest_first(dist: &[f32; WIDE]) -> [usize; WIDE] {
    let mut k: [u32; WIDE] = std::array::from_fn(|c| (dist[c].to_bits() & !3) | c as u32);
    for (a, b) in [(0, 1), (2, 3), (0, 2), (1, 3), (1, 2)] {
        let (lo, hi) = (k[a].min(k[b]), k[a].max(k[b]));
        k[a] = lo;
        k[b] = hi;
    }
    k.map(|x| (x & 3) as usize)
}

/// Squared distance from `p` to each child box of `node` (infinite for an unused slot).
fn box_dist4(p: [f32; 3], node: &Node) -> [f32; WIDE] {
    let mut d = [0.0f32; WIDE];
    for k in 0..3 {
        for c in 0..WIDE {
            let e = (node.min[k][c] - p[k]).max(0.0).max(p[k] - node.max[k][c]);
            d[c] += e * e;
        }
    }
    d
}

/// Whether the line origin + t·dir, |t| <= reach, passes through the box.
fn slab_hits(
    origin: [f32; 3],
    dir: [f32; 3],
    inv: [f32; 3],
    min: &[f32; 3],
    max: &[f32; 3],
    reach: f32,
) -> bool {
    let (mut lo, mut hi) = (-reach, reach);
    for k in 0..3 {
        if dir[k] == 0.0 {
            if origin[k] < min[k] || origin[k] > max[k] {
                return false;
            }
            continue;
        }
        let t1 = (min[k] - origin[k]) * inv[k];
        let t2 = (max[k] - origin[k]) * inv[k];
        lo = lo.max(t1.min(t2));
        hi = hi.min(t1.max(t2));
    }
    lo <= hi
}

/// Triangles sorted along a Morton (Z-order) curve through their centroids, so that every
/// run of the order is spatially compact and splitting a run at an octree-cell boundary is a
/// spatial split. Each key is the Morton code above the triangle's index, which takes the low
/// `shift` bits (returned); the code gets the rest, up to 21 bits per axis.
fn morton_keys(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> (Vec<u64>, u32) {
    let pos = |i: u32| positions.get(i as usize).copied().unwrap_or_default();
    let centroid = |t: &[u32; 3]| -> [f32; 3] {
        let c = t.map(pos);
        std::array::from_fn(|k| (c[0][k] + c[1][k] + c[2][k]) / 3.0)
    };
    let cb = triangles
        .par_iter()
        .map(|t| {
            let c = centroid(t);
            (c, c)
        })
        .reduce(|| EMPTY, union);
    let shift = (usize::BITS - triangles.len().leading_zeros()).max(1);
    let bits = ((64 - shift) / 3).min(21);
    let top = ((1u32 << bits) - 1) as f32;
    // One scale for all axes, so that Morton cells are cubes.
    let ext = (0..3).map(|k| cb.1[k] - cb.0[k]).fold(0.0f32, f32::max);
    let scale = if ext > 0.0 && ext.is_finite() { top / ext } else { 0.0 };
    let mut keys: Vec<u64> = triangles
        .par_iter()
        .enumerate()
        .map(|(i, t)| {
            let c = centroid(t);
            let q: [u32; 3] = std::array::from_fn(|k| ((c[k] - cb.0[k]) * scale).clamp(0.0, top) as u32);
            let code = spread(q[0]) | (spread(q[1]) << 1) | (spread(q[2]) << 2);
            (code << shift) | i as u64
        })
        .collect();
    keys.par_sort_unstable();
    (keys, shift)
}

/// The low 21 bits of `v`, spaced three bits apart.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v) & 0x1f_ffff;
    x = (x | (x << 32)) & 0x1f_0000_0000_ffff;
    x = (x | (x << 16)) & 0x1f_0000_ff00_00ff;
    x = (x | (x << 8)) & 0x100f_00f0_0f00_f00f;
    x = (x | (x << 4)) & 0x10c3_0c30_c30c_30c3;
    x = (x | (x << 2)) & 0x1249_2492_4924_9249;
    x
}

/// Where the Morton-ordered run splits: at the first code with the highest bit in which the
/// run's codes differ (an octree cell boundary), or in the middle when they are all equal.
fn split_point(run: &[u64], shift: u32) -> usize {
    let (Some(&first), Some(&last)) = (run.first(), run.last()) else { return 0 };
    let diff = (first ^ last) >> shift;
    if diff == 0 {
        return run.len() / 2;
    }
    let bit = 63 - diff.leading_zeros() + shift;
    let prefix = last >> bit;
    run.partition_point(|&k| k >> bit < prefix).clamp(1, run.len() - 1)
}

/// What the build reads besides the keys: the triangle corners in key order, and where the
/// Morton code starts in a key.
struct Ctx<'a> {
    tris: &'a [Tri],
    shift: u32,
}

impl Ctx<'_> {
    /// The box around triangles `base..base + count` of the order.
    fn bounds(&self, base: usize, count: usize) -> Bounds {
        let mut b = EMPTY;
        for t in self.tris.get(base..base + count).unwrap_or_default() {
            for &c in &t.corners {
                b = union(b, (c, c));
            }
        }
        b
    }
}

fn union(a: ([f32; 3], [f32; 3]), b: ([f32; 3], [f32; 3])) -> ([f32; 3], [f32; 3]) {
    (std::array::from_fn(|k| a.0[k].min(b.0[k])), std::array::from_fn(|k| a.1[k].max(b.1[k])))
}

fn set_child(node: &mut Node, c: usize, r: Ref, b: Bounds) {
    for k in 0..3 {
        node.min[k][c] = b.0[k];
        node.max[k][c] = b.1[k];
    }
    node.child[c] = r.index;
    node.count[c] = r.count;
}

/// A subtree left for the parallel phase of the build: its run, where the run starts in the
/// whole order, and the slot of the top node that will point to it.
struct Task<'a> {
    run: &'a [u64],
    base: usize,
    parent: usize,
    slot: usize,
}

/// Where a build writes nodes: a growing vector (the top levels) or a slice of the final
/// array reserved for one subtree (so parallel subtrees need no copying).
trait Sink {
    /// Appends `n`, returning its index in the final array.
    fn push(&mut self, n: Node) -> usize;
    fn set(&mut self, index: usize, n: Node);
}

impl Sink for Vec<Node> {
    fn push(&mut self, n: Node) -> usize {
        self.push(n);
        self.len() - 1
    }
    fn set(&mut self, index: usize, n: Node) {
        if let Some(x) = self.get_mut(index) {
            *x = n;
        }
    }
}

/// A slice of the final node array starting at index `offset`, filled from `used` on.
struct Slots<'a> {
    nodes: &'a mut [Node],
    offset: usize,
    used: usize,
}

impl Sink for Slots<'_> {
    fn push(&mut self, n: Node) -> usize {
        if let Some(x) = self.nodes.get_mut(self.used) {
            *x = n;
        }
        self.used += 1;
        self.offset + self.used - 1
    }
    fn set(&mut self, index: usize, n: Node) {
        if let Some(x) = index.checked_sub(self.offset).and_then(|i| self.nodes.get_mut(i)) {
            *x = n;
        }
    }
}

/// The whole tree, root first. The top levels are laid out serially; the subtrees below them
/// are counted, given their exact share of the final array, and built into it in parallel.
fn build_tree(order: &[u64], ctx: &Ctx<'_>) -> Vec<Node> {
    if order.is_empty() {
        return Vec::new();
    }
    let mut top = Vec::new();
    let mut tasks = Vec::new();
    let (root, bounds) = build(order, 0, ctx, &mut top, Some(&mut tasks));
    if root.count > 0 {
        // A handful of triangles: one node with a single leaf child.
        let mut n = EMPTY_NODE;
        set_child(&mut n, 0, root, bounds);
        return vec![n];
    }
    let sizes: Vec<usize> = tasks.par_iter().map(|t| count_nodes(t.run, ctx.shift)).collect();
    let top_len = top.len();
    let mut nodes = top;
    nodes.resize(top_len + sizes.iter().sum::<usize>(), EMPTY_NODE);
    // Cut the array after the top nodes into one slice per task.
    let mut slices = Vec::with_capacity(tasks.len());
    let (mut rest, mut offset) = (&mut nodes[top_len..], top_len);
    for &size in &sizes {
        let (mine, after) = rest.split_at_mut(size.min(rest.len()));
        slices.push(Slots { nodes: mine, offset, used: 0 });
        rest = after;
        offset += size;
    }
    let built: Vec<(Ref, Bounds)> = tasks
        .par_iter()
        .zip(slices.into_par_iter())
        .map(|(t, mut out)| build(t.run, t.base, ctx, &mut out, None))
        .collect();
    for (t, (r, b)) in tasks.iter().zip(built) {
        if let Some(parent) = nodes.get_mut(t.parent) {
            set_child(parent, t.slot, r, b);
        }
    }
    // The top nodes' boxes of top-node children, now that the subtrees below are known.
    // Children come after their parents, so going backwards finishes each child first.
    for i in (0..top_len).rev() {
        for c in 0..WIDE {
            let (child, count) = (nodes[i].child[c] as usize, nodes[i].count[c]);
            if count == 0 && child < top_len {
                let b = node_bounds(&nodes[child]);
                for k in 0..3 {
                    nodes[i].min[k][c] = b.0[k];
                    nodes[i].max[k][c] = b.1[k];
                }
            }
        }
    }
    nodes
}

/// The box around all of a node's children.
fn node_bounds(n: &Node) -> Bounds {
    let mut b = EMPTY;
    for c in 0..WIDE {
        b = union(b, ([n.min[0][c], n.min[1][c], n.min[2][c]], [n.max[0][c], n.max[1][c], n.max[2][c]]));
    }
    b
}

/// The children of an inner node over `order` (starting at `base`): the run's halves, each
/// halved again when larger than a leaf. Returns them and how many there are.
fn quarters(order: &[u64], base: usize, shift: u32) -> ([(usize, &[u64]); WIDE], usize) {
    let cut = split_point(order, shift);
    let (left, right) = order.split_at(cut);
    let mut parts: [(usize, &[u64]); WIDE] = [(0, &[]); WIDE];
    let mut k = 0;
    for (at, half) in [(base, left), (base + cut, right)] {
        if half.len() > LEAF {
            let m = split_point(half, shift);
            let (a, b) = half.split_at(m);
            parts[k] = (at, a);
            parts[k + 1] = (at + m, b);
            k += 2;
        } else {
            parts[k] = (at, half);
            k += 1;
        }
    }
    (parts, k)
}

/// How many inner nodes [`build`] makes over `order`.
fn count_nodes(order: &[u64], shift: u32) -> usize {
    if order.len() <= LEAF {
        return 0;
    }
    let (parts, k) = quarters(order, 0, shift);
    1 + parts[..k].iter().map(|&(_, p)| count_nodes(p, shift)).sum::<usize>()
}

/// Builds the subtree over the Morton-ordered run `order` (which starts at `base` in the
/// whole order) into `out`, depth first, with the children of [`quarters`]. Returns a
/// reference to it (a leaf when small enough, pushing nothing) and its bounds. With `tasks`,
/// children smaller than [`PARALLEL_BUILD`] are left as tasks (their slots and the bounds
/// returned are filled in later).
fn build<'a>(
    order: &'a [u64],
    base: usize,
    ctx: &Ctx<'_>,
    out: &mut impl Sink,
    mut tasks: Option<&mut Vec<Task<'a>>>,
) -> (Ref, Bounds) {
    if order.len() <= LEAF {
        return (Ref { index: base as u32, count: order.len() as u32 }, ctx.bounds(base, order.len()));
    }
    let me = out.push(EMPTY_NODE);
    let (parts, k) = quarters(order, base, ctx.shift);
    let mut node = EMPTY_NODE;
    let mut bounds = EMPTY;
    for (c, &(at, part)) in parts[..k].iter().enumerate() {
        match tasks.as_deref_mut() {
            Some(t) if part.len() > LEAF && part.len() < PARALLEL_BUILD => {
                t.push(Task { run: part, base: at, parent: me, slot: c });
            }
            _ => {
                let (r, b) = build(part, at, ctx, out, tasks.as_deref_mut());
                set_child(&mut node, c, r, b);
                bounds = union(bounds, b);
            }
        }
    }
    out.set(me, node);
    (Ref { index: me as u32, count: 0 }, bounds)
}

/// Closest point on triangle `t` to `p` and its barycentric weights (Ericson, Real-Time
/// Collision Detection, 5.1.5). Degenerate triangles (points, segments) are handled.
pub(crate) fn closest_on_triangle(p: [f32; 3], t: &[[f32; 3]; 3]) -> ([f32; 3], [f32; 3]) {
    let [a, b, c] = *t;
    let ab = sub3(b, a);
    let ac = sub3(c, a);
    let ap = sub3(p, a);
    let d1 = dot3(ab, ap);
    let d2 = dot3(ac, ap);
    if d1 <= 0.0 && d2 <= 0.0 {
        return (a, [1.0, 0.0, 0.0]);
    }
    let bp = sub3(p, b);
    let d3 = dot3(ab, bp);
    let d4 = dot3(ac, bp);
    if d3 >= 0.0 && d4 <= d3 {
        return (b, [0.0, 1.0, 0.0]);
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        let v = d1 / (d1 - d3);
        return (lerp(a, ab, v), [1.0 - v, v, 0.0]);
    }
    let cp = sub3(p, c);
    let d5 = dot3(ab, cp);
    let d6 = dot3(ac, cp);
    if d6 >= 0.0 && d5 <= d6 {
        return (c, [0.0, 0.0, 1.0]);
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        let w = d2 / (d2 - d6);
        return (lerp(a, ac, w), [1.0 - w, 0.0, w]);
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        let w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        return (lerp(b, sub3(c, b), w), [0.0, 1.0 - w, w]);
    }
    let denom = va + vb + vc;
    if denom == 0.0 || !denom.is_finite() {
        // Degenerate (collinear) triangle that slipped past the region tests: use the nearest
        // corner.
        let ds = [dot3(ap, ap), dot3(bp, bp), dot3(cp, cp)];
        let k = if ds[0] <= ds[1] && ds[0] <= ds[2] {
            0
        } else if ds[1] <= ds[2] {
            1
        } else {
            2
        };
        let mut bary = [0.0; 3];
        bary[k] = 1.0;
        return (t[k], bary);
    }
    let v = vb / denom;
    let w = vc / denom;
    let q = [a[0] + ab[0] * v + ac[0] * w, a[1] + ab[1] * v + ac[1] * w, a[2] + ab[2] * v + ac[2] * w];
    (q, [1.0 - v - w, v, w])
}

fn lerp(a: [f32; 3], d: [f32; 3], t: f32) -> [f32; 3] {
    [a[0] + d[0] * t, a[1] + d[1] * t, a[2] + d[2] * t]
}

/// Möller–Trumbore on the whole line: the parameter t of the hit, or `None` if the line misses
/// or is parallel to the triangle.
fn line_triangle(o: [f32; 3], d: [f32; 3], t: &[[f32; 3]; 3]) -> Option<f32> {
    let e1 = sub3(t[1], t[0]);
    let e2 = sub3(t[2], t[0]);
    let h = cross3(d, e2);
    let a = dot3(e1, h);
    if a.abs() < 1e-12 {
        return None;
    }
    let f = 1.0 / a;
    let s = sub3(o, t[0]);
    let u = f * dot3(s, h);
    if !(-1e-6..=1.0 + 1e-6).contains(&u) {
        return None;
    }
    let q = cross3(s, e1);
    let v = f * dot3(d, q);
    if v < -1e-6 || u + v > 1.0 + 1e-6 {
        return None;
    }
    let t = f * dot3(e2, q);
    t.is_finite().then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use facevault_synthface::{generate, FaceParams};

    fn brute(p: [f32; 3], mesh: &Mesh) -> f32 {
        mesh.triangles()
            .iter()
            .map(|t| {
                let tri = t.map(|i| mesh.positions()[i as usize]);
                let (q, _) = closest_on_triangle(p, &tri);
                let d = sub3(p, q);
                dot3(d, d)
            })
            .fold(f32::INFINITY, f32::min)
    }

    #[test]
    fn closest_point_matches_brute_force() {
        let face = generate(&FaceParams { jitter_mm: 0.5, ..FaceParams::default() }, 3_000).mesh;
        let surface = Surface::new(&face);
        let mut rng = 12345u64;
        let mut next = || {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((rng >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
        };
        let points: Vec<[f32; 3]> =
            (0..400).map(|_| [next() * 90.0, next() * 120.0, next() * 60.0 + 20.0]).collect();
        let many = surface.closest_many(&points);
        for (p, c) in points.iter().zip(&many) {
            let c = c.unwrap_or_else(|| unreachable!());
            let single = surface.closest(*p).map(|c| c.dist_sq);
            let want = brute(*p, &face);
            assert!((c.dist_sq - want).abs() <= 1e-4 * want.max(1.0), "{p:?}: {} vs {want}", c.dist_sq);
            assert_eq!(single.map(|d| (d - want).abs() <= 1e-4 * want.max(1.0)), Some(true));
        }
    }

    #[test]
    fn closest_on_triangle_regions() {
        let t = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0]];
        assert_eq!(closest_on_triangle([0.5, 0.5, 3.0], &t).0, [0.5, 0.5, 0.0]);
        assert_eq!(closest_on_triangle([-1.0, -1.0, 0.0], &t).0, [0.0, 0.0, 0.0]);
        assert_eq!(closest_on_triangle([1.0, -5.0, 1.0], &t).0, [1.0, 0.0, 0.0]);
        assert_eq!(closest_on_triangle([3.0, 3.0, 0.0], &t).0, [1.0, 1.0, 0.0]);
        let point = [[1.0, 1.0, 1.0]; 3];
        assert_eq!(closest_on_triangle([0.0; 3], &point).0, [1.0, 1.0, 1.0]);
    }

    #[test]
    fn batch_queries_are_exact_on_stacked_and_coincident_triangles() {
        // Many triangles with the same centroid (equal Morton codes) and thin stacked layers
        // make a deep, unbalanced tree: batch answers must still match brute force.
        let mut positions = Vec::new();
        let mut tris = Vec::new();
        for layer in 0..40u32 {
            let z = layer as f32 * 0.01;
            for k in 0..30u32 {
                let a = k as f32 * 0.2;
                let base = positions.len() as u32;
                positions.extend([[a.cos(), a.sin(), z], [-a.cos(), -a.sin(), z], [0.0, 0.0, z + 1.0]]);
                tris.push([base, base + 1, base + 2]);
                if layer == 0 {
                    tris.push([base, base, base]);
                }
            }
        }
        let mesh = Mesh::new(positions, tris).unwrap_or_default();
        let surface = Surface::new(&mesh);
        assert_eq!(surface.triangle_count(), mesh.triangle_count());
        let points: Vec<[f32; 3]> = (0..300)
            .map(|i| [(i as f32 * 0.37).sin() * 2.0, (i as f32 * 0.11).cos() * 2.0, i as f32 * 0.005 - 0.3])
            .collect();
        let got = surface.closest_map(&points, |_, c| c.map(|c| c.dist_sq));
        for (p, d) in points.iter().zip(got) {
            let want = brute(*p, &mesh);
            assert!(d.is_some_and(|d| (d - want).abs() <= 1e-5 * want.max(1.0)), "{p:?}: {d:?} vs {want}");
        }
    }

    #[test]
    fn signs_follow_winding_and_border_is_detected() {
        // A flat square facing +z, two triangles counter-clockwise seen from +z.
        let m = Mesh::new(
            vec![[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 10.0, 0.0], [0.0, 10.0, 0.0]],
            vec![[0, 1, 2], [0, 2, 3]],
        )
        .unwrap_or_default();
        let s = Surface::new(&m);
        let above = s.closest([3.0, 4.0, 2.0]).unwrap_or_else(|| unreachable!());
        assert!((above.signed_distance([3.0, 4.0, 2.0]) - 2.0).abs() < 1e-6);
        assert!(above.is_over_surface([3.0, 4.0, 2.0]));
        let below = s.closest([3.0, 4.0, -1.5]).unwrap_or_else(|| unreachable!());
        assert!((below.signed_distance([3.0, 4.0, -1.5]) + 1.5).abs() < 1e-6);
        let beyond = s.closest([15.0, 5.0, 0.5]).unwrap_or_else(|| unreachable!());
        assert!(!beyond.is_over_surface([15.0, 5.0, 0.5]));
        assert_eq!(s.nearest_hit_along([3.0, 4.0, 2.0], [0.0, 0.0, 1.0], 10.0), Some(-2.0));
        assert_eq!(s.nearest_hit_along([3.0, 4.0, 2.0], [0.0, 0.0, 1.0], 1.0), None);
        assert_eq!(s.nearest_hit_along([30.0, 4.0, 2.0], [0.0, 0.0, 1.0], 10.0), None);
    }

    #[test]
    fn ray_hits_match_the_height_field() {
        let face = generate(&FaceParams::default(), 20_000);
        let s = Surface::new(&face.mesh);
        for &[x, y] in &[[0.0f32, 10.0], [20.0, -30.0], [-35.0, 40.0]] {
            let z = face.surface().height(f64::from(x), f64::from(y)).unwrap_or_default() as f32;
            let t = s.nearest_hit_along([x, y, z + 3.0], [0.0, 0.0, -1.0], 20.0);
            // The mesh's chords sit a little off the analytic surface.
            assert!(t.is_some_and(|t| (t - 3.0).abs() < 0.1), "{x},{y}: {t:?}");
        }
    }
}
