//! The README's "Use it in your repo" walkthrough, run exactly as written: the block
//! between `<!-- readme-test:start -->` and `<!-- readme-test:end -->` is a bash script,
//! run in an empty temporary directory with this build's `dimctl` first on PATH.

use std::path::Path;
use std::process::Command;

fn walkthrough(readme: &str) -> String {
    let start = readme
        .find("<!-- readme-test:start -->")
        .expect("README has a readme-test:start marker");
    let end = readme
        .find("<!-- readme-test:end -->")
        .expect("README has a readme-test:end marker");
    let block = &readme[start..end];
    let body_start = block.find("```sh\n").expect("a ```sh block") + "```sh\n".len();
    let body_end = block.rfind("```").expect("the block's end");
    block[body_start..body_end].to_string()
}

#[test]
fn use_it_in_your_repo_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let script = walkthrough(&readme);
    assert!(
        script.contains("dimctl import"),
        "the walkthrough adopts an account"
    );
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_dimctl")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("DIMCTL_API_URL")
        .env_remove("DIMCTL_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the walkthrough failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
