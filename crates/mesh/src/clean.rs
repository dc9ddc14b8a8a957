//! Cleaning: each function returns the cleaned mesh and a [`CleanReport`] of what it changed.
//!
//! For most cases call [`clean_all`]. The steps only drop faces and drop or merge vertices;
//! they never move a vertex. Per-vertex attributes (normals, colours, uvs) travel with their
//! vertices, and the source unit is kept. None of them panics on any valid [`Mesh`].

use std::fmt;

use serde::Serialize;

use crate::inspect::{
    first_at_same_position, has_repeated_vertex, later_duplicates, triangle_area, ZERO_AREA_MM2,
};
use crate::mesh::Mesh;

/// What one cleaning step changed, and the size of the mesh after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CleanReport {
    /// The name of the function that ran, e.g. `remove_degenerate_faces`.
    pub step: &'static str,
    pub faces_removed: usize,
    /// Vertices dropped because no face used them.
    pub vertices_removed: usize,
    /// Vertices dropped because an earlier vertex had the same position.
    pub vertices_merged: usize,
    /// Vertices after the step.
    pub vertices: usize,
    /// Faces after the step.
    pub faces: usize,
}

impl CleanReport {
    fn new(step: &'static str, mesh: &Mesh) -> CleanReport {
        CleanReport {
            step,
            faces_removed: 0,
            vertices_removed: 0,
            vertices_merged: 0,
            vertices: mesh.vertex_count(),
            faces: mesh.triangle_count(),
        }
    }

    /// True when the step changed the mesh.
    pub fn changed(&self) -> bool {
        self.faces_removed + self.vertices_removed + self.vertices_merged > 0
    }
}

impl fmt::Display for CleanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (n, one, many) in [
            (self.faces_removed, "face removed", "faces removed"),
            (self.vertices_removed, "vertex removed", "vertices removed"),
            (self.vertices_merged, "vertex merged", "vertices merged"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        }
        if parts.is_empty() {
            parts.push("no change".to_string());
        }
        write!(
            f,
            "{}: {} ({} vertices, {} faces left)",
            self.step,
            parts.join(", "),
            self.vertices,
            self.faces
        )
    }
}

/// Run every step in an order where each one leaves nothing for an earlier one to do: merging
/// vertices can create degenerate and duplicate faces, and removing faces can leave vertices
/// unused. Running it again on its output changes nothing.
///
/// Merging is by exact position, so a texture seam (same position, different uv) is closed and
/// the later vertex's uv is lost; run the other steps one by one to keep seams.
pub fn clean_all(mesh: Mesh) -> (Mesh, Vec<CleanReport>) {
    let steps: [fn(Mesh) -> (Mesh, CleanReport); 4] = [
        merge_duplicate_vertices,
        remove_degenerate_faces,
        remove_duplicate_faces,
        remove_unreferenced_vertices,
    ];
    let mut reports = Vec::with_capacity(steps.len());
    let mut mesh = mesh;
    for step in steps {
        let (cleaned, report) = step(mesh);
        mesh = cleaned;
        reports.push(report);
    }
    (mesh, reports)
}

/// Remove faces with a repeated vertex and faces with an area below
/// [`ZERO_AREA_MM2`](crate::inspect::ZERO_AREA_MM2).
pub fn remove_degenerate_faces(mesh: Mesh) -> (Mesh, CleanReport) {
    let positions = mesh.positions();
    let keep: Vec<bool> = mesh
        .triangles()
        .iter()
        .map(|&t| !has_repeated_vertex(t) && triangle_area(positions, t) >= ZERO_AREA_MM2)
        .collect();
    drop_faces("remove_degenerate_faces", mesh, &keep)
}

/// Remove every face whose vertex set (in any order or orientation) an earlier face already
/// has; the first copy stays.
pub fn remove_duplicate_faces(mesh: Mesh) -> (Mesh, CleanReport) {
    let keep: Vec<bool> =
        later_duplicates(mesh.triangles(), mesh.vertex_count()).into_iter().map(|d| !d).collect();
    drop_faces("remove_duplicate_faces", mesh, &keep)
}

/// Remove vertices no face uses, renumbering the rest in their original order.
pub fn remove_unreferenced_vertices(mesh: Mesh) -> (Mesh, CleanReport) {
    let step = "remove_unreferenced_vertices";
    let n = mesh.vertex_count();
    let mut referenced = vec![false; n];
    for t in mesh.triangles() {
        for &v in t {
            referenced[v as usize] = true;
        }
    }
    let kept: Vec<u32> = (0..n).filter(|&v| referenced[v]).map(|v| v as u32).collect();
    if kept.len() == n {
        let report = CleanReport::new(step, &mesh);
        return (mesh, report);
    }
    // Unreferenced vertices keep u32::MAX; no face points at them.
    let mut new_index = vec![u32::MAX; n];
    for (new, &old) in kept.iter().enumerate() {
        new_index[old as usize] = new as u32;
    }
    let cleaned = compact(mesh, &kept, &new_index);
    let mut report = CleanReport::new(step, &cleaned);
    report.vertices_removed = n - kept.len();
    (cleaned, report)
}

/// Merge vertices with exactly the same position (`-0.0` equals `0.0`) into the first of them,
/// which keeps its attributes; the others are removed and faces point at the survivor.
pub fn merge_duplicate_vertices(mesh: Mesh) -> (Mesh, CleanReport) {
    let step = "merge_duplicate_vertices";
    let n = mesh.vertex_count();
    let survivor = first_at_same_position(mesh.positions());
    let kept: Vec<u32> = (0..n).filter(|&v| survivor[v] as usize == v).map(|v| v as u32).collect();
    if kept.len() == n {
        let report = CleanReport::new(step, &mesh);
        return (mesh, report);
    }
    // A survivor always has a smaller index than the vertices merged into it, so one ascending
    // pass can number both.
    let mut new_index = vec![0u32; n];
    let mut next = 0u32;
    for v in 0..n {
        let s = survivor[v] as usize;
        if s == v {
            new_index[v] = next;
            next += 1;
        } else {
            new_index[v] = new_index[s];
        }
    }
    let cleaned = compact(mesh, &kept, &new_index);
    let mut report = CleanReport::new(step, &cleaned);
    report.vertices_merged = n - kept.len();
    (cleaned, report)
}

/// Keep the faces marked in `keep`.
fn drop_faces(step: &'static str, mesh: Mesh, keep: &[bool]) -> (Mesh, CleanReport) {
    let before = mesh.triangle_count();
    let kept: Vec<[u32; 3]> =
        mesh.triangles().iter().zip(keep).filter(|(_, &k)| k).map(|(&t, _)| t).collect();
    if kept.len() == before {
        let report = CleanReport::new(step, &mesh);
        return (mesh, report);
    }
    // A subset of a valid mesh's faces is valid, so this cannot fail.
    let rebuilt = mesh.with_triangles(kept);
    debug_assert!(rebuilt.is_ok(), "dropping faces broke the mesh: {rebuilt:?}");
    let cleaned = rebuilt.unwrap_or_default();
    let mut report = CleanReport::new(step, &cleaned);
    report.faces_removed = before - cleaned.triangle_count();
    (cleaned, report)
}

/// Keep the vertices listed in `kept` (old indices, in their new order) with their attributes,
/// and renumber every face corner through `new_index` (old index to new index).
fn compact(mesh: Mesh, kept: &[u32], new_index: &[u32]) -> Mesh {
    fn pick<T: Copy>(values: &[T], kept: &[u32]) -> Vec<T> {
        kept.iter().map(|&v| values[v as usize]).collect()
    }
    let unit = mesh.source_unit();
    let (positions, triangles, normals, colors, uvs) = mesh.into_parts();
    let triangles = triangles.into_iter().map(|t| t.map(|v| new_index[v as usize])).collect();
    let rebuilt = Mesh::new(pick(&positions, kept), triangles).and_then(|m| {
        let m = match normals {
            Some(n) => m.with_normals(pick(&n, kept))?,
            None => m,
        };
        let m = match colors {
            Some(c) => m.with_colors(pick(&c, kept))?,
            None => m,
        };
        match uvs {
            Some(u) => m.with_uvs(pick(&u, kept)),
            None => Ok(m),
        }
    });
    // Kept vertices of a valid mesh, with faces renumbered onto them, are valid.
    debug_assert!(rebuilt.is_ok(), "compacting broke the mesh: {rebuilt:?}");
    rebuilt.unwrap_or_default().with_source_unit(unit)
}
