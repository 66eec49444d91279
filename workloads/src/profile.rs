//! The `quick` profile's run parameters, shared by the driver (`ringbench run --profile quick`,
//! the default) and the criterion benches (`cargo bench`), so the two measure the same thing
//! and their numbers can be set side by side. How many rounds to run and how long a trial may
//! take stay with the driver (criterion decides its own sampling).

use crate::data::TreeShape;

/// Run parameters of a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Bytes of the single file of large, read, write and randread.
    pub size: u64,
    /// Block (buffer) size of every op.
    pub block_size: usize,
    /// Ops in flight per task.
    pub queue_depth: usize,
    /// Files of the small dataset.
    pub files: usize,
    /// Files copied at once (small, tree).
    pub files_in_flight: usize,
    /// Shape of the tree dataset.
    pub tree: TreeShape,
    /// fsync every written file inside the timed section.
    pub fsync: bool,
}

/// `quick`: about a minute for every engine and workload on a small VM.
pub const QUICK: Profile = Profile {
    size: 32 << 20,
    block_size: 128 << 10,
    queue_depth: 8,
    files: 64,
    files_in_flight: 8,
    tree: TreeShape {
        depth: 2,
        fanout: 3,
        files_per_dir: 4,
    },
    fsync: true,
};
