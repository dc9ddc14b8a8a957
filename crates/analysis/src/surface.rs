//! A triangle surface prepared for exact closest-point and ray queries: a bounding-volume
//! hierarchy over the triangles in flat arrays, plus area-weighted vertex normals for signing
//! distances and for point-to-plane registration.
//!
//! Queries are exact point-to-triangle (not nearest vertex). Batch queries run in parallel and
//! seed each query with the previous one's triangle, so points given in a spatially coherent
//! order (a scan's stored order) prune almost the whole tree from the start.

use facevault_mesh::Mesh;
use rayon::prelude::*;

/// Triangles per leaf at most.
const LEAF: usize = 4;
/// Subtrees above this many triangles are built in parallel.
const PARALLEL_BUILD: usize = 64 * 1024;
/// Points per parallel batch in queries: large enough to amortise, small enough to balance.
const BATCH: usize = 2048;

/// An inner node holding both children's boxes, so that one visit reads one cache line.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Node {
    min: [[f32; 3]; 2],
    max: [[f32; 3]; 2],
    /// Per child: first triangle of a leaf, or the index of an inner node.
    child: [u32; 2],
    /// Per child: triangles in a leaf; 0 for an inner node.
    count: [u32; 2],
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
    /// Triangle corners in BVH order.
    corners: Vec<[[f32; 3]; 3]>,
    /// Vertex indices of each triangle, in BVH order.
    indices: Vec<[u32; 3]>,
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
        let corners: Vec<[[f32; 3]; 3]> = triangles.par_iter().map(|t| t.map(pos)).collect();
        let mut items: Vec<Item> = corners
            .par_iter()
            .enumerate()
            .map(|(i, c)| Item {
                centroid: std::array::from_fn(|k| (c[0][k] + c[1][k] + c[2][k]) / 3.0),
                index: i as u32,
            })
            .collect();
        let mut nodes = Vec::with_capacity(triangles.len() / 2 + 2);
        if !triangles.is_empty() {
            let (root, bounds) = build(&mut items, 0, &corners, &mut nodes);
            if root.count > 0 {
                // A handful of triangles: one node with a single leaf child.
                nodes.push(Node {
                    min: [bounds.0, EMPTY.0],
                    max: [bounds.1, EMPTY.1],
                    child: [root.index, 0],
                    count: [root.count, 0],
                });
            }
        }
        let corners_sorted = items.par_iter().map(|it| corners[it.index as usize]).collect();
        let indices = items.par_iter().map(|it| triangles[it.index as usize]).collect();
        Surface { nodes, corners: corners_sorted, indices, normals }
    }

    /// The unit normal of vertex `i` (zero for an unused or out-of-range vertex).
    pub fn vertex_normal(&self, i: usize) -> [f32; 3] {
        self.normals.get(i).copied().unwrap_or_default()
    }

    pub fn triangle_count(&self) -> usize {
        self.corners.len()
    }

    /// Bytes held by the index (nodes, corners, indices, normals).
    pub fn heap_bytes(&self) -> usize {
        self.nodes.len() * std::mem::size_of::<Node>()
            + self.corners.len() * 36
            + self.indices.len() * 12
            + self.normals.len() * 12
    }

    /// The closest point on the surface to `p`, or `None` for an empty surface.
    pub fn closest(&self, p: [f32; 3]) -> Option<Closest> {
        self.closest_seeded(p, None)
    }

    /// Closest points for many points, in parallel; `None` only for an empty surface.
    pub fn closest_many(&self, points: &[[f32; 3]]) -> Vec<Option<Closest>> {
        let mut out = vec![None; points.len()];
        out.par_chunks_mut(BATCH).zip(points.par_chunks(BATCH)).for_each(|(out, pts)| {
            let mut seed = None;
            for (o, &p) in out.iter_mut().zip(pts) {
                *o = self.closest_seeded(p, seed);
                seed = o.map(|c| c.slot);
            }
        });
        out
    }

    /// Closest point, starting from the bound given by triangle `seed` (a previous answer for
    /// a nearby point), which prunes most of the tree at once.
    fn closest_seeded(&self, p: [f32; 3], seed: Option<u32>) -> Option<Closest> {
        if self.nodes.is_empty() {
            return None;
        }
        let mut best_slot = u32::MAX;
        let mut best = ([0.0f32; 3], [0.0f32; 3], f32::INFINITY);
        if let Some(s) = seed.filter(|&s| (s as usize) < self.corners.len()) {
            let (q, bary) = closest_on_triangle(p, &self.corners[s as usize]);
            let d = sub3(p, q);
            best = (q, bary, dot3(d, d));
            best_slot = s;
        }
        // Each stack entry carries its box distance, so a pruned entry is never read.
        let mut stack = [(0u32, 0.0f32); 64];
        let mut top = 1usize;
        while top > 0 {
            top -= 1;
            let (ni, d) = stack[top];
            if d >= best.2 {
                continue;
            }
            let Some(node) = self.nodes.get(ni as usize) else { continue };
            let d0 = box_dist_sq(p, &node.min[0], &node.max[0]);
            let d1 = box_dist_sq(p, &node.min[1], &node.max[1]);
            let order = if d0 <= d1 { [(1, d1), (0, d0)] } else { [(0, d0), (1, d1)] };
            // Far child first onto the stack, so the near one is searched first; leaves are
            // searched at once, near first.
            for &(c, dc) in order.iter().rev() {
                if dc >= best.2 || node.count[c] == 0 {
                    continue;
                }
                let start = node.child[c] as usize;
                for s in start..start + node.count[c] as usize {
                    let Some(tri) = self.corners.get(s) else { break };
                    let (q, bary) = closest_on_triangle(p, tri);
                    let v = sub3(p, q);
                    let d2 = dot3(v, v);
                    if d2 < best.2 {
                        best = (q, bary, d2);
                        best_slot = s as u32;
                    }
                }
            }
            for &(c, dc) in &order {
                if node.count[c] == 0 && dc < best.2 && top < stack.len() {
                    stack[top] = (node.child[c], dc);
                    top += 1;
                }
            }
        }
        let (point, bary, dist_sq) = best;
        let tri = self.indices.get(best_slot as usize)?;
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
            let c = &self.corners[best_slot as usize];
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
        let mut stack = [0u32; 64];
        let mut top = 1usize;
        while top > 0 {
            top -= 1;
            let Some(node) = self.nodes.get(stack[top] as usize) else { continue };
            for c in 0..2 {
                if !slab_hits(origin, dir, inv, &node.min[c], &node.max[c], best) {
                    continue;
                }
                if node.count[c] > 0 {
                    let start = node.child[c] as usize;
                    for s in start..start + node.count[c] as usize {
                        let Some(tri) = self.corners.get(s) else { break };
                        if let Some(t) = line_triangle(origin, dir, tri) {
                            if t.abs() <= best && (found.is_none() || t.abs() < best) {
                                best = t.abs();
                                found = Some(t);
                            }
                        }
                    }
                } else if top < stack.len() {
                    stack[top] = node.child[c];
                    top += 1;
                }
            }
        }
        found
    }
}

fn box_dist_sq(p: [f32; 3], min: &[f32; 3], max: &[f32; 3]) -> f32 {
    let mut d = 0.0;
    for k in 0..3 {
        let e = (min[k] - p[k]).max(0.0).max(p[k] - max[k]);
        d += e * e;
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

/// A triangle during the build: its centroid and index, together so that partitioning moves
/// contiguous memory.
#[derive(Clone, Copy)]
struct Item {
    centroid: [f32; 3],
    index: u32,
}

fn union(a: ([f32; 3], [f32; 3]), b: ([f32; 3], [f32; 3])) -> ([f32; 3], [f32; 3]) {
    (std::array::from_fn(|k| a.0[k].min(b.0[k])), std::array::from_fn(|k| a.1[k].max(b.1[k])))
}

/// Builds the subtree over `items` (which start at `base` in the final order) into `out`,
/// depth first, by a median split on the widest axis of the centroids. Returns a reference to
/// it (a leaf when small enough, pushing nothing) and its bounds.
fn build(items: &mut [Item], base: usize, corners: &[[[f32; 3]; 3]], out: &mut Vec<Node>) -> (Ref, Bounds) {
    if items.len() <= LEAF {
        let mut b = EMPTY;
        for it in items.iter() {
            for c in &corners[it.index as usize] {
                b = union(b, (*c, *c));
            }
        }
        return (Ref { index: base as u32, count: items.len() as u32 }, b);
    }
    let me = out.len();
    out.push(Node { min: [EMPTY.0; 2], max: [EMPTY.1; 2], child: [0; 2], count: [0; 2] });
    let mut cb = EMPTY;
    for it in items.iter() {
        cb = union(cb, (it.centroid, it.centroid));
    }
    let ext = [cb.1[0] - cb.0[0], cb.1[1] - cb.0[1], cb.1[2] - cb.0[2]];
    let axis = if ext[0] >= ext[1] && ext[0] >= ext[2] {
        0
    } else if ext[1] >= ext[2] {
        1
    } else {
        2
    };
    let mid = items.len() / 2;
    items.select_nth_unstable_by(mid, |a, b| a.centroid[axis].total_cmp(&b.centroid[axis]));
    let (left, right) = items.split_at_mut(mid);
    let (l, r) = if left.len() + right.len() >= PARALLEL_BUILD {
        let (mut ln, mut rn) = (Vec::new(), Vec::new());
        let (l, r) = rayon::join(
            || build(left, base, corners, &mut ln),
            || build(right, base + mid, corners, &mut rn),
        );
        let left_at = out.len() as u32;
        out.extend(ln.iter().map(|n| shift(*n, left_at)));
        let right_at = out.len() as u32;
        out.extend(rn.iter().map(|n| shift(*n, right_at)));
        (shift_ref(l, left_at), shift_ref(r, right_at))
    } else {
        let l = build(left, base, corners, out);
        let r = build(right, base + mid, corners, out);
        (l, r)
    };
    out[me] = Node {
        min: [l.1 .0, r.1 .0],
        max: [l.1 .1, r.1 .1],
        child: [l.0.index, r.0.index],
        count: [l.0.count, r.0.count],
    };
    (Ref { index: me as u32, count: 0 }, union(l.1, r.1))
}

/// A node built into a separate vector, moved to start at `offset`.
fn shift(mut n: Node, offset: u32) -> Node {
    for c in 0..2 {
        if n.count[c] == 0 {
            n.child[c] += offset;
        }
    }
    n
}

fn shift_ref((r, b): (Ref, Bounds), offset: u32) -> (Ref, Bounds) {
    (if r.count == 0 { Ref { index: r.index + offset, count: 0 } } else { r }, b)
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
