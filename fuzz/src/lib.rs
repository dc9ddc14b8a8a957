//! The oracle shared by the fuzz targets.

use facevault_mesh::{read, read_from, to_bytes, FileFormat, Format, Mesh, ReadOptions, Unit};

/// Read `data` as `format` both from memory (length known) and as a stream (length unknown).
/// Either may fail, but nothing may panic, and an accepted mesh must be valid and must round
/// trip through the writer.
pub fn check(data: &[u8], format: Format) {
    let _ = facevault_mesh::detect(data, Some(data.len() as u64));
    let opts = ReadOptions { format: Some(format), unit: None };
    let in_memory = read(data, &opts);
    let streamed = read_from(data, None, &opts);
    if let Ok(imported) = &in_memory {
        let m = &imported.mesh;
        assert!(Mesh::new(m.positions().to_vec(), m.triangles().to_vec()).is_ok());
        let out = match format {
            Format::Ply => FileFormat::PlyBinaryLittleEndian,
            Format::Obj => FileFormat::Obj,
            Format::Stl => FileFormat::StlBinary,
        };
        let mm = ReadOptions { format: Some(format), unit: Some(Unit::Millimetre) };
        let back = read(&to_bytes(m, out), &mm).expect("a written mesh reads back");
        assert_eq!(back.mesh.triangle_count(), m.triangle_count());
        if format != Format::Stl {
            assert_eq!(back.mesh.positions(), m.positions());
        }
    }
    // The streamed read sees the same bytes; it may only differ by failing where the length is
    // needed to decide (it cannot reject a lying count up front).
    if let (Ok(a), Ok(b)) = (&in_memory, &streamed) {
        assert_eq!(a.mesh, b.mesh);
    }
}
