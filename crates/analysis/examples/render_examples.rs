//! Writes the example renders in docs/examples: a compare map (2 mm nasal dorsum reduction)
//! and a symmetry map (3 mm left cheek augmentation) of synthetic faces.
//! `cargo run --release -p facevault-analysis --example render_examples -- docs/examples`

use facevault_analysis::render::{render_map, FaceFrame, RenderOptions};
use facevault_analysis::{compare, symmetry, CompareOptions, SymmetryOptions};
use facevault_synthface::{
    cheek_augmentation, generate, nasal_dorsum_reduction, FaceParams, RigidMotion, Side,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "docs/examples".into());
    std::fs::create_dir_all(&dir)?;
    let options =
        RenderOptions { range_mm: Some(2.0), frame: Some(FaceFrame::CANONICAL), ..RenderOptions::default() };

    let pre = generate(&FaceParams::default(), 200_000);
    let post = nasal_dorsum_reduction(&pre, 2.0, 6.0).transformed(&RigidMotion::random(3, 15.0, 20.0));
    let c = compare(&pre.mesh, &post.mesh, None, &CompareOptions::default(), &mut |_| {})?;
    std::fs::write(
        format!("{dir}/compare-dorsum-reduction.png"),
        render_map(&c.aligned_post, &c.distances, &options).to_png(),
    )?;

    let face = generate(&FaceParams { jitter_mm: 1.0, seed: 1, ..FaceParams::default() }, 200_000);
    let aug = cheek_augmentation(&face, Side::Left, 3.0, 8.0);
    let s = symmetry(&aug.mesh, &SymmetryOptions::default(), &mut |_| {})?;
    let options = RenderOptions { range_mm: Some(3.0), ..options };
    std::fs::write(
        format!("{dir}/symmetry-cheek-augmentation.png"),
        render_map(&aug.mesh, &s.asymmetry, &options).to_png(),
    )?;
    Ok(())
}
