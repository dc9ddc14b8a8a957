//! Inspection: bounding box, surface area, edge statistics, components, boundary loops, and the
//! problems a scan can have (degenerate or duplicate faces, unreferenced vertices, non-manifold
//! edges). Nothing here changes a mesh; see [`crate::clean`] for that.

use serde::Serialize;

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
        for k in 0..3 {
            b.min[k] = b.min[k].min(p[k]);
            b.max[k] = b.max[k].max(p[k]);
        }
    }
    Some(b)
}
