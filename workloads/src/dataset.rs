//! A trial's dataset, as a [`TrialPlan`] describes it: making its source, the bytes a trial of
//! it moves, and checking what a trial left behind. The driver, the benches and the
//! conformance suite all make and check datasets through here, so "a verified copy" means the
//! same everywhere. The byte-level building blocks (seeded contents, headers, comparisons) are
//! in [`data`](crate::data).

use std::io;
use std::path::Path;

use crate::data;
use crate::{TrialPlan, Workload};

/// Create the source `plan` reads at `plan.src`: one file of `plan.size` (large, read), the
/// small-file set (small), the tree (tree); write reads nothing.
pub fn create(plan: &TrialPlan) -> io::Result<()> {
    match plan.workload {
        Workload::Large | Workload::Read | Workload::Randread => {
            data::create_file(&plan.src, plan.seed, plan.size)
        }
        Workload::Write => Ok(()),
        Workload::Small => data::create_small(&plan.src, plan.seed, plan.files),
        Workload::Tree => data::create_tree(&plan.src, plan.seed, plan.tree).map(drop),
    }
}

/// The payload bytes one trial of `plan` moves (its `Outcome::bytes` when it succeeds).
pub fn bytes(plan: &TrialPlan) -> u64 {
    match plan.workload {
        Workload::Large | Workload::Read | Workload::Write | Workload::Randread => plan.size,
        Workload::Small => data::small_total(plan.seed, plan.files),
        Workload::Tree => data::tree_bytes(plan.seed, plan.tree),
    }
}

/// Verify what a trial of `plan` left behind: the copy equals the source byte for byte
/// (large, small, tree), the written file is the expected image (write), or no block header
/// read was wrong (read: `header_errors`, summed over the trial's threads). The error says
/// what differs first.
pub fn verify(plan: &TrialPlan, header_errors: u64) -> Result<(), String> {
    let r = match plan.workload {
        Workload::Large => data::compare_files(&plan.src, &plan.dst),
        Workload::Small => (0..plan.files)
            .map(|i| {
                data::compare_files(
                    &plan.src.join(data::small_name(i)),
                    &plan.dst.join(data::small_name(i)),
                )
            })
            .find(|r| !matches!(r, Ok(Ok(()))))
            .unwrap_or(Ok(Ok(()))),
        Workload::Tree => data::compare_trees(&plan.src, &plan.dst),
        Workload::Write => {
            data::verify_write_image(&plan.dst, plan.seed, plan.runtime.block_size, plan.size)
        }
        Workload::Read | Workload::Randread => {
            return if header_errors == 0 {
                Ok(())
            } else {
                Err(format!("{header_errors} blocks with wrong headers"))
            };
        }
    };
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(m)) => Err(m.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether the filesystem at `dir` accepts `O_DIRECT` (a file created there with it, and
/// removed).
pub fn direct_supported(dir: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let p = dir.join(".direct-probe");
    let ok = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(&p)
        .is_ok();
    let _ = std::fs::remove_file(&p);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::TreeShape;
    use std::path::PathBuf;

    fn scratch(tag: &str) -> PathBuf {
        let p =
            std::env::temp_dir().join(format!("ringbench-dataset-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    #[test]
    fn bytes_match_what_create_makes() {
        let dir = scratch("bytes");
        let mut plan = TrialPlan::new(Workload::Tree, dir.join("tree"), dir.join("out"));
        plan.tree = TreeShape {
            depth: 1,
            fanout: 2,
            files_per_dir: 3,
        };
        create(&plan).unwrap();
        let (_, made) = data::create_tree(&dir.join("tree2"), plan.seed, plan.tree).unwrap();
        assert_eq!(bytes(&plan), made);
        let mut plan = TrialPlan::new(Workload::Small, dir.join("small"), dir.join("out"));
        plan.files = 9;
        create(&plan).unwrap();
        let on_disk: u64 = std::fs::read_dir(&plan.src)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(bytes(&plan), on_disk);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn verify_catches_a_changed_byte_and_a_short_copy() {
        let dir = scratch("verify");
        let mut plan = TrialPlan::new(Workload::Large, dir.join("src"), dir.join("dst"));
        plan.size = 10_000;
        create(&plan).unwrap();
        std::fs::copy(&plan.src, &plan.dst).unwrap();
        assert_eq!(verify(&plan, 0), Ok(()));
        let mut bad = std::fs::read(&plan.dst).unwrap();
        bad[4321] ^= 1;
        std::fs::write(&plan.dst, &bad).unwrap();
        assert!(verify(&plan, 0).is_err(), "a flipped bit verified");
        std::fs::write(&plan.dst, &bad[..9_000]).unwrap();
        assert!(verify(&plan, 0).is_err(), "a short copy verified");
        let read = TrialPlan::new(Workload::Read, plan.src.clone(), PathBuf::new());
        assert_eq!(verify(&read, 0), Ok(()));
        assert!(verify(&read, 2).unwrap_err().contains("2 blocks"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
