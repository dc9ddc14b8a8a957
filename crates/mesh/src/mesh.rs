//! The indexed triangle mesh every other part of FaceVault works on.

use crate::error::MeshError;
use crate::unit::SourceUnit;

/// An indexed triangle mesh: positions in `f32` millimetres, triangles as `u32` vertex indices,
/// and optional per-vertex normals, RGBA colours and texture coordinates.
///
/// Invariants, checked by every constructor: each index is below the vertex count, every
/// position is finite, and each present attribute has one entry per vertex.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Mesh {
    positions: Vec<[f32; 3]>,
    triangles: Vec<[u32; 3]>,
    normals: Option<Vec<[f32; 3]>>,
    colors: Option<Vec<[u8; 4]>>,
    uvs: Option<Vec<[f32; 2]>>,
    source_unit: SourceUnit,
}

impl Mesh {
    /// A mesh from positions (mm) and triangles, checking indices and finiteness.
    pub fn new(positions: Vec<[f32; 3]>, triangles: Vec<[u32; 3]>) -> Result<Mesh, MeshError> {
        if u32::try_from(positions.len()).is_err() {
            return Err(MeshError::TooManyVertices { vertices: positions.len() });
        }
        if let Some(vertex) = positions.iter().position(|p| !p.iter().all(|c| c.is_finite())) {
            return Err(MeshError::NonFinite { vertex });
        }
        let n = positions.len();
        for (face, t) in triangles.iter().enumerate() {
            if let Some(&index) = t.iter().find(|&&i| i as usize >= n) {
                return Err(MeshError::BadIndex { face, index, vertices: n });
            }
        }
        Ok(Mesh { positions, triangles, ..Mesh::default() })
    }

    /// For readers that have already checked every index and coordinate while parsing.
    pub(crate) fn from_checked(positions: Vec<[f32; 3]>, triangles: Vec<[u32; 3]>) -> Mesh {
        debug_assert!(Mesh::new(positions.clone(), triangles.clone()).is_ok());
        Mesh { positions, triangles, ..Mesh::default() }
    }

    fn check_len(&self, what: &'static str, got: usize) -> Result<(), MeshError> {
        if got == self.positions.len() {
            Ok(())
        } else {
            Err(MeshError::AttributeLength { what, got, vertices: self.positions.len() })
        }
    }

    /// Attach per-vertex normals (one per vertex; not required to be unit length).
    pub fn with_normals(mut self, normals: Vec<[f32; 3]>) -> Result<Mesh, MeshError> {
        self.check_len("normals", normals.len())?;
        self.normals = Some(normals);
        Ok(self)
    }

    /// Attach per-vertex RGBA colours.
    pub fn with_colors(mut self, colors: Vec<[u8; 4]>) -> Result<Mesh, MeshError> {
        self.check_len("colors", colors.len())?;
        self.colors = Some(colors);
        Ok(self)
    }

    /// Attach per-vertex texture coordinates.
    pub fn with_uvs(mut self, uvs: Vec<[f32; 2]>) -> Result<Mesh, MeshError> {
        self.check_len("uvs", uvs.len())?;
        self.uvs = Some(uvs);
        Ok(self)
    }

    /// Record the unit the source file used (positions stay in mm).
    pub fn with_source_unit(mut self, source_unit: SourceUnit) -> Mesh {
        self.source_unit = source_unit;
        self
    }

    pub fn positions(&self) -> &[[f32; 3]] {
        &self.positions
    }
    pub fn triangles(&self) -> &[[u32; 3]] {
        &self.triangles
    }
    pub fn normals(&self) -> Option<&[[f32; 3]]> {
        self.normals.as_deref()
    }
    pub fn colors(&self) -> Option<&[[u8; 4]]> {
        self.colors.as_deref()
    }
    pub fn uvs(&self) -> Option<&[[f32; 2]]> {
        self.uvs.as_deref()
    }
    pub fn source_unit(&self) -> SourceUnit {
        self.source_unit
    }
    pub fn vertex_count(&self) -> usize {
        self.positions.len()
    }
    pub fn triangle_count(&self) -> usize {
        self.triangles.len()
    }

    /// Bytes the vertex and index buffers take in memory (attributes included).
    pub fn heap_bytes(&self) -> usize {
        self.positions.len() * 12
            + self.triangles.len() * 12
            + self.normals.as_ref().map_or(0, |v| v.len() * 12)
            + self.colors.as_ref().map_or(0, |v| v.len() * 4)
            + self.uvs.as_ref().map_or(0, |v| v.len() * 8)
    }

    /// Apply `f` to every position, e.g. a rigid transform or a unit scale. Fails, leaving the
    /// mesh unchanged, if `f` produces a non-finite coordinate.
    pub fn map_positions(&mut self, f: impl Fn([f32; 3]) -> [f32; 3]) -> Result<(), MeshError> {
        let mapped: Vec<[f32; 3]> = self.positions.iter().map(|&p| f(p)).collect();
        if let Some(vertex) = mapped.iter().position(|p| !p.iter().all(|c| c.is_finite())) {
            return Err(MeshError::NonFinite { vertex });
        }
        self.positions = mapped;
        Ok(())
    }

    /// Take the mesh apart: positions, triangles, normals, colours, uvs.
    #[allow(clippy::type_complexity)]
    pub fn into_parts(
        self,
    ) -> (Vec<[f32; 3]>, Vec<[u32; 3]>, Option<Vec<[f32; 3]>>, Option<Vec<[u8; 4]>>, Option<Vec<[f32; 2]>>)
    {
        (self.positions, self.triangles, self.normals, self.colors, self.uvs)
    }

    /// Replace the triangles, checking indices (used by cleaning).
    pub fn with_triangles(mut self, triangles: Vec<[u32; 3]>) -> Result<Mesh, MeshError> {
        let n = self.positions.len();
        for (face, t) in triangles.iter().enumerate() {
            if let Some(&index) = t.iter().find(|&&i| i as usize >= n) {
                return Err(MeshError::BadIndex { face, index, vertices: n });
            }
        }
        self.triangles = triangles;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_index_and_nan() {
        let p = vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
        assert_eq!(
            Mesh::new(p.clone(), vec![[0, 1, 3]]),
            Err(MeshError::BadIndex { face: 0, index: 3, vertices: 3 })
        );
        let mut q = p.clone();
        q[1][2] = f32::NAN;
        assert_eq!(Mesh::new(q, vec![]), Err(MeshError::NonFinite { vertex: 1 }));
        let m = Mesh::new(p, vec![[0, 1, 2]]).unwrap();
        assert!(m.clone().with_colors(vec![[0; 4]; 2]).is_err());
        assert_eq!(m.heap_bytes(), 3 * 12 + 12);
    }
}
