//! `facevault demo`: write a folder of sample scans and inspect each one, so that a new user
//! sees what FaceVault reads and reports before bringing real (biometric) data.
//!
//! The samples are synthetic faces from `facevault-synthface` (no real person's face) and the
//! MediaPipe canonical face model (Apache-2.0), written in each format FaceVault reads.
//!
//! It then builds a demo vault in `DIR/vault` by running this same binary's vault commands, as
//! a user would: three subjects with consents under IL, CA and EU rules, pre-op and post-op
//! scans, a symmetry analysis and a pre/post comparison stored as derivatives, the example
//! vendors with a disclosure to the lab, one open access request and one erasure request, and
//! the generated documents. Every step is decided by the policy and audited. The key file's
//! passphrase is printed: the vault holds synthetic data only.

use std::path::PathBuf;

use anyhow::{Context, Result};
use facevault_mesh::{FileFormat, Mesh, ReadOptions};
use facevault_synthface::{
    cheek_augmentation, generate, nasal_dorsum_reduction, FaceParams, RigidMotion, Side,
};

use super::mesh::{read_file, write_file};

/// The MediaPipe canonical face (centimetres), shipped with its attribution.
const CANONICAL_FACE: &[u8] = include_bytes!("../../../mesh/tests/fixtures/canonical_face_model.obj");
const CANONICAL_NOTICE: &[u8] = include_bytes!("../../../mesh/tests/fixtures/NOTICE");

/// The demo vault's passphrase (synthetic data only; printed for the user).
const DEMO_PASSPHRASE: &str = "facevault-demo";
const CONSENT_IL: &str = include_str!("../../../../docs/examples/consent-il.toml");
const NOTICE_IL: &str = include_str!("../../../../docs/examples/notice-il.txt");
const VENDORS: &str = include_str!("../../../../docs/examples/vendors.toml");
const CLINIC: &str = include_str!("../../../../docs/examples/clinic.toml");

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder to write the sample scans into (created if missing).
    #[arg(long, default_value = "facevault-demo")]
    dir: PathBuf,
    /// Vertices in each synthetic face.
    #[arg(long, default_value_t = 50_000)]
    vertices: usize,
    /// Only write and inspect the sample scans; build no demo vault.
    #[arg(long)]
    no_vault: bool,
    /// Build the demo vault but do not start the server.
    #[arg(long)]
    no_serve: bool,
    /// Where the demo server listens.
    #[arg(long, default_value = facevault_server::DEFAULT_LISTEN)]
    listen: String,
}

/// The demo logins file (in the demo folder, mode 0600): synthetic data only.
const LOGINS_FILE: &str = "demo-logins.txt";
/// Staff roles with a demo account each.
const STAFF: [&str; 7] =
    ["surgeon", "clinical_staff", "front_desk", "marketing", "privacy_officer", "vendor", "admin"];

pub fn run(args: DemoArgs) -> Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let face = generate(&FaceParams::default(), args.vertices);
    let pre = plain(&face.mesh)?;
    // A post-op scan: a 2 mm nasal dorsum reduction, and the patient sat differently.
    let post = nasal_dorsum_reduction(&face, 2.0, 6.0).transformed(&RigidMotion::from_axis_angle(
        [0.2, 1.0, 0.1],
        8.0,
        [4.0, -3.0, 12.0],
    ));
    let augmented = cheek_augmentation(&face, Side::Left, 3.0, 12.0);

    let samples: Vec<(&str, Mesh, FileFormat)> = vec![
        ("pre-op.ply", pre.clone(), FileFormat::PlyBinaryLittleEndian),
        ("post-op-dorsum-2mm.ply", plain(&post.mesh)?, FileFormat::PlyBinaryLittleEndian),
        ("cheek-augmented-left-3mm.obj", plain(&augmented.mesh)?, FileFormat::Obj),
        ("pre-op.stl", pre.clone(), FileFormat::StlBinary),
        ("pre-op-ascii.ply", pre, FileFormat::PlyAscii),
    ];
    for (name, mesh, format) in &samples {
        write_file(&args.dir.join(name), mesh, *format)?;
    }
    std::fs::write(args.dir.join("canonical-face-mediapipe.obj"), CANONICAL_FACE)?;
    std::fs::write(args.dir.join("canonical-face-mediapipe.NOTICE"), CANONICAL_NOTICE)?;

    println!("FaceVault demo: sample scans in {}\n", args.dir.display());
    println!(
        "{:<34} {:<14} {:>8} {:>9} {:>11} {:>11}  unit",
        "file", "format", "vertices", "triangles", "height mm", "area cm²"
    );
    let names = samples.iter().map(|s| s.0).chain(std::iter::once("canonical-face-mediapipe.obj"));
    for name in names {
        let path = args.dir.join(name);
        let imported = read_file(&path, &ReadOptions::default())?;
        let report = facevault_mesh::inspect::inspect(&imported.mesh);
        let height = report.bounding_box.map_or(0.0, |b| b.extent()[1]);
        println!(
            "{name:<34} {:<14} {:>8} {:>9} {height:>11.1} {:>11.1}  {}",
            imported.format.to_string(),
            report.vertices,
            report.triangles,
            report.surface_area_mm2 / 100.0,
            imported.mesh.source_unit()
        );
        for problem in report.problems() {
            println!("{:<34} problem: {problem}", "");
        }
    }
    println!(
        "\nNext: `facevault mesh info {}` for the full report, or `--json` for machines.",
        args.dir.join("pre-op.ply").display()
    );
    if args.no_vault {
        return Ok(());
    }
    demo_vault(&args.dir)?;
    let logins = std::fs::read_to_string(args.dir.join(LOGINS_FILE)).unwrap_or_default();
    if args.no_serve {
        println!(
            "\nDemo logins for `facevault serve --vault {}`:\n{logins}",
            args.dir.join("vault").display()
        );
        return Ok(());
    }
    serve_demo(&args, &logins)
}

/// Starts the server on the demo vault and prints how to reach it.
fn serve_demo(args: &DemoArgs, logins: &str) -> Result<()> {
    let vault = args.dir.join("vault");
    // The demo vault's key file opens with the demo passphrase, as the steps above did.
    std::env::set_var("FACEVAULT_PASSPHRASE", DEMO_PASSPHRASE);
    std::env::remove_var("FACEVAULT_KEK");
    let mut config = super::serve::config(Some(vault), None)?;
    config.listen.clone_from(&args.listen);
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "facevault".into());
    super::serve::serve(config, |listen| {
        let url = format!("http://{listen}");
        println!("\nFaceVault demo server: {url}   (API docs: {url}/docs/, OpenAPI: {url}/openapi.json)");
        println!(
            "\nDemo logins (synthetic data only; privacy_officer and admin also need their one-time code):"
        );
        print!("{logins}");
        println!("  one-time code of a secret:  echo SECRET | {exe} otp");
        println!("\nTry:");
        println!(
            "  curl -s -c /tmp/facevault.cookies -H 'content-type: application/json' \\\n       \
             -d '{{\"username\":\"surgeon\",\"password\":\"{}\"}}' {url}/api/login",
            password("surgeon")
        );
        println!("  curl -s -b /tmp/facevault.cookies {url}/api/subjects");
        println!("\nCtrl-C stops the server.");
    })
}

/// A demo account's password (synthetic data only).
fn password(username: &str) -> String {
    format!("demo-{username}-pass")
}

/// Adds a demo account per staff role and a patient portal account by invitation, and writes
/// their logins to the demo folder.
fn demo_accounts(dir: &std::path::Path, vault: &std::path::Path, patient: &str) -> Result<()> {
    let mut logins = String::new();
    for role in STAFF {
        let out = step_env(
            vault,
            "admin",
            &["account", "add", role, role],
            &[("FACEVAULT_NEW_PASSWORD", &password(role))],
        )?;
        let secret = out.lines().find_map(|l| l.strip_prefix("totp-secret ")).map(str::to_owned);
        logins.push_str(&format!("  {role:<16} password {:<28}", password(role)));
        if let Some(secret) = secret {
            logins.push_str(&format!(" TOTP secret {secret}"));
        }
        logins.push('\n');
    }
    let invited = step(vault, "clinical_staff", &["account", "invite", patient])?;
    let mut lines = invited.lines();
    let username = lines.next().unwrap_or_default().to_owned();
    let invitation = lines.find_map(|l| l.strip_prefix("invitation ")).unwrap_or_default().to_owned();
    let pass = password("patient");
    step_env(
        vault,
        "patient",
        &["account", "accept"],
        &[("FACEVAULT_INVITATION", &invitation), ("FACEVAULT_NEW_PASSWORD", &pass)],
    )?;
    logins.push_str(&format!(
        "  {username:<16} password {pass:<28} (patient: Demo Patient One, subject {patient})\n"
    ));
    super::vault::write_private(&dir.join(LOGINS_FILE), logins.as_bytes())
}

/// Runs one command of this binary on the demo vault as `role`; returns its standard output.
fn step(vault: &std::path::Path, role: &str, args: &[&str]) -> Result<String> {
    step_env(vault, role, args, &[])
}

/// As [`step`], with extra environment variables (secrets stay off the command line).
fn step_env(vault: &std::path::Path, role: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let exe = std::env::current_exe().context("finding the facevault binary")?;
    let out = std::process::Command::new(exe)
        .envs(env.iter().copied())
        .arg("--vault")
        .arg(vault)
        .args(["--actor", &format!("demo-{role}"), "--role", role])
        .args(args)
        .env("FACEVAULT_PASSPHRASE", DEMO_PASSPHRASE)
        .env_remove("FACEVAULT_KEK")
        .env_remove("FACEVAULT_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .context("running a demo step")?;
    if !out.status.success() {
        anyhow::bail!(
            "demo step `{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A consent file for `jurisdiction` in the demo folder (the IL example, re-labelled).
fn consent_file(dir: &std::path::Path, jurisdiction: &str) -> Result<String> {
    let text = CONSENT_IL
        .replace("jurisdiction = \"IL\"", &format!("jurisdiction = \"{jurisdiction}\""))
        .replace(
            "covers = [\"purposes\", \"retention\", \"withdrawal\"]",
            "covers = [\"purposes\", \"retention\", \"withdrawal\", \"limit-use\"]",
        )
        .replace("share = false", "share = true");
    let path = dir.join(format!("consent-{}.toml", jurisdiction.to_lowercase()));
    std::fs::write(&path, text)?;
    Ok(path.to_string_lossy().into_owned())
}

fn demo_vault(dir: &std::path::Path) -> Result<()> {
    let vault = dir.join("vault");
    if vault.exists() {
        println!("\nDemo vault: {} already exists; remove it to build a fresh one.", vault.display());
        return Ok(());
    }
    println!(
        "\nBuilding a demo vault in {} (every step below is a decided, audited command) ...",
        vault.display()
    );
    step(&vault, "admin", &["init"])?;
    std::fs::write(dir.join("notice-il.txt"), NOTICE_IL)?;
    let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let mut subjects = Vec::new();
    for (name, jurisdiction) in
        [("Demo Patient One", "IL"), ("Demo Patient Two", "CA"), ("Demo Patient Three", "EU")]
    {
        let id =
            step(&vault, "front_desk", &["subject", "add", "--name", name, "--jurisdiction", jurisdiction])?;
        let consent = consent_file(dir, jurisdiction)?;
        step(&vault, "front_desk", &["consent", "add", &id, &consent])?;
        subjects.push(id);
    }
    let (one, two, three) = (&subjects[0], &subjects[1], &subjects[2]);
    let import = |subject: &str, f: &str, purpose: &str| {
        step(
            &vault,
            "surgeon",
            &["scan", "import", subject, &file(f), "--purpose", purpose, "--device", "demo scanner"],
        )
    };
    let pre = import(one, "pre-op.ply", "treatment-planning")?;
    let post = import(one, "post-op-dorsum-2mm.ply", "post-op-tracking")?;
    let other = import(two, "cheek-augmented-left-3mm.obj", "treatment-planning")?;
    import(three, "pre-op.stl", "treatment-planning")?;
    step(&vault, "surgeon", &["scan", "analyze", "symmetry", &other])?;
    step(&vault, "surgeon", &["scan", "analyze", "compare", &pre, &post, "--purpose", "post-op-tracking"])?;
    std::fs::write(dir.join("vendors.toml"), VENDORS)?;
    std::fs::write(vault.join("clinic.toml"), CLINIC)?;
    step(&vault, "privacy_officer", &["vendor", "add", &file("vendors.toml")])?;
    step(
        &vault,
        "surgeon",
        &[
            "disclose",
            &pre,
            &file("pre-op-to-lab.stl"),
            "--vendor",
            "lab-3d",
            "--purpose",
            "treatment-planning",
        ],
    )?;
    let access = step(&vault, "front_desk", &["request", "open", two, "--kind", "access"])?;
    let erasure = step(&vault, "front_desk", &["request", "open", three, "--kind", "delete"])?;
    step(&vault, "privacy_officer", &["docs", "generate"])?;
    demo_accounts(dir, &vault, one)?;
    step(&vault, "privacy_officer", &["audit", "verify"])?;
    let v = vault.display();
    println!("Demo vault ready: 3 subjects (IL, CA, EU consents), 4 scans, analyses, a vendor disclosure,");
    println!("an open access request ({access}) and an erasure request ({erasure}).");
    println!("Its key file's passphrase is `{DEMO_PASSPHRASE}` (synthetic data only). Try:\n");
    println!("  export FACEVAULT_PASSPHRASE={DEMO_PASSPHRASE} FACEVAULT_DIR={v}");
    println!("  facevault --role privacy_officer request list");
    println!("  facevault --role surgeon subject show {one}");
    println!("  facevault --role front_desk subject show {one}       # refused: front desk sees no scans");
    println!("  facevault --role privacy_officer retention plan");
    println!("  facevault --role privacy_officer posture");
    println!("  facevault --role privacy_officer request verify {erasure} --level strong");
    println!("  facevault --role privacy_officer request complete {erasure}   # erasure + certificate");
    println!("  facevault audit list | tail                      # every decision, allowed or denied");
    println!("  ls {v}/docs                                       # generated record of processing, schedule, notices");
    Ok(())
}

/// The synthetic meshes carry analytic normals; the demo files keep positions and triangles,
/// as most scanner exports do.
fn plain(mesh: &Mesh) -> Result<Mesh> {
    Ok(Mesh::new(mesh.positions().to_vec(), mesh.triangles().to_vec())?)
}
