//! Deterministic datasets: seeded content, the file-size mix of `small`, the shape of `tree`,
//! and the verification the driver runs after each trial.
//!
//! Content is a pure function of `(seed, offset)`, fio-style: every 4 KiB block opens with a
//! 16-byte header (a magic derived from the seed, then the block's offset), and the rest is
//! pseudo-random. A block read back therefore says which dataset and which offset it came from,
//! so a read-only trial can check what it read cheaply (one compare per 4 KiB), and a copy that
//! put a block at the wrong offset is caught with its location.
//!
//! Everything here uses `std` and runs outside the timed section.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::AlignedBuf;

/// Granularity of verification headers.
pub const HEADER_BLOCK: usize = 4096;
/// Bytes of header at the start of each [`HEADER_BLOCK`].
pub const HEADER_LEN: usize = 16;

/// splitmix64: a fast, well-mixed 64-bit hash; the content generator and every seeded choice.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small seeded generator for choices (sizes, modes, plans).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` and a purpose `stream`, so unrelated choices don't correlate.
    pub fn new(seed: u64, stream: u64) -> Rng {
        Rng(mix(seed ^ mix(stream)))
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in `[lo, hi)`; `lo` when the range is empty.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo)
        }
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.range(0, i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// The 16-byte header of the block at `offset` in the dataset `seed`.
pub fn header(seed: u64, offset: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(&(mix(seed) | 1).to_le_bytes());
    h[8..].copy_from_slice(&offset.to_le_bytes());
    h
}

/// Fill `out` with the content of dataset `seed` starting at `offset` (a multiple of
/// [`HEADER_BLOCK`]).
pub fn fill(seed: u64, offset: u64, out: &mut [u8]) {
    assert_eq!(
        offset % HEADER_BLOCK as u64,
        0,
        "fill offset must be block aligned"
    );
    for (i, block) in out.chunks_mut(HEADER_BLOCK).enumerate() {
        let boff = offset + (i * HEADER_BLOCK) as u64;
        let key = mix(seed ^ boff.rotate_left(17));
        for (w, chunk) in block.chunks_mut(8).enumerate() {
            let v = mix(key.wrapping_add(w as u64)).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        let h = header(seed, boff);
        let n = block.len().min(HEADER_LEN);
        block[..n].copy_from_slice(&h[..n]);
    }
}

/// Overwrite the headers inside `data` (which sits at `offset` in its file) with those of
/// dataset `seed`. The write workload stamps its reused buffers this way before each write.
pub fn stamp_headers(seed: u64, offset: u64, data: &mut [u8]) {
    each_header(offset, data.len(), |at, boff| {
        data[at..at + HEADER_LEN].copy_from_slice(&header(seed, boff));
    });
}

/// Count the blocks inside `data` (at `offset`) whose header is not that of dataset `seed`.
pub fn check_headers(seed: u64, offset: u64, data: &[u8]) -> u64 {
    let mut bad = 0;
    each_header(offset, data.len(), |at, boff| {
        if data[at..at + HEADER_LEN] != header(seed, boff) {
            bad += 1;
        }
    });
    bad
}

/// Call `f(index_in_data, block_offset)` for every whole header inside `[offset, offset+len)`.
fn each_header(offset: u64, len: usize, mut f: impl FnMut(usize, u64)) {
    let hb = HEADER_BLOCK as u64;
    let mut boff = offset.div_ceil(hb) * hb;
    while boff + HEADER_LEN as u64 <= offset + len as u64 {
        f((boff - offset) as usize, boff);
        boff += hb;
    }
}

/// The image the `write` workload produces: every block of `block_size` bytes is the first
/// block of dataset `seed` with its headers restamped for its own offset.
pub fn write_image_block(seed: u64, block_size: usize, offset: u64, out: &mut [u8]) {
    fill(seed, 0, out);
    stamp_headers(seed, offset, out);
    debug_assert!(out.len() <= block_size);
}

/// The seed of small file number `index` of dataset `seed`.
pub fn file_seed(seed: u64, index: u64) -> u64 {
    mix(seed ^ mix(index.wrapping_add(0x5EED)))
}

/// The name of small file `index`.
pub fn small_name(index: usize) -> String {
    format!("f{index:06}")
}

/// The size of small file `index` of a dataset: a fixed, seeded mix of empty files, files under
/// a page, odd sizes and multi-block files. File 0 is always empty and file 1 is always an odd
/// size over several pages, so even tiny sets cover both edge cases.
pub fn small_size(seed: u64, index: usize) -> u64 {
    match index {
        0 => 0,
        1 => 3 * 4096 + 7,
        _ => {
            let mut r = Rng::new(seed, 0x5A11 ^ index as u64);
            match r.range(0, 100) {
                0..5 => 0,
                5..40 => r.range(1, 4096),
                40..85 => r.range(4096, 64 * 1024),
                _ => r.range(64 * 1024, 1024 * 1024 + 1),
            }
        }
    }
}

/// Total bytes of a small-file dataset.
pub fn small_total(seed: u64, files: usize) -> u64 {
    (0..files).map(|i| small_size(seed, i)).sum()
}

/// Write `len` bytes of dataset `seed` to a new file at `path`.
pub fn create_file(path: &Path, seed: u64, len: u64) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    while off < len {
        let n = (len - off).min(buf.len() as u64) as usize;
        fill(seed, off, &mut buf[..n]);
        f.write_all(&buf[..n])?;
        off += n as u64;
    }
    f.sync_all()
}

/// Create the `small` dataset: `files` files in the new directory `dir`.
pub fn create_small(dir: &Path, seed: u64, files: usize) -> io::Result<()> {
    fs::create_dir(dir)?;
    for i in 0..files {
        create_file(
            &dir.join(small_name(i)),
            file_seed(seed, i as u64),
            small_size(seed, i),
        )?;
    }
    Ok(())
}

/// Shape of the `tree` dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TreeShape {
    /// Levels of directories below the root.
    pub depth: u32,
    /// Subdirectories per directory (plus one empty directory in each).
    pub fanout: u32,
    /// Files per directory.
    pub files_per_dir: u32,
}

impl Default for TreeShape {
    fn default() -> Self {
        TreeShape {
            depth: 2,
            fanout: 3,
            files_per_dir: 6,
        }
    }
}

/// Directories of a tree of `shape` (the root included, the empty leaves not).
pub fn tree_dirs(shape: TreeShape) -> u64 {
    (0..=shape.depth)
        .map(|d| (shape.fanout as u64).pow(d))
        .sum()
}

/// Files of a tree of `shape`.
pub fn tree_files(shape: TreeShape) -> u64 {
    tree_dirs(shape) * shape.files_per_dir as u64
}

/// Size of the `k`-th file [`create_tree`] writes: the first is empty, the rest follow the
/// size mix of `small` (offset past its fixed edge cases).
fn tree_file_size(seed: u64, k: u64) -> u64 {
    if k == 0 {
        0
    } else {
        small_size(seed, k as usize + 2)
    }
}

/// Total bytes of the tree dataset, without creating it.
pub fn tree_bytes(seed: u64, shape: TreeShape) -> u64 {
    (0..tree_files(shape))
        .map(|k| tree_file_size(seed, k))
        .sum()
}

const FILE_MODES: [u32; 4] = [0o644, 0o600, 0o755, 0o444];
const DIR_MODES: [u32; 3] = [0o755, 0o750, 0o700];

/// Create the `tree` dataset in the new directory `root`; returns (files, bytes).
pub fn create_tree(root: &Path, seed: u64, shape: TreeShape) -> io::Result<(u64, u64)> {
    let mut rng = Rng::new(seed, 0x7EE);
    let mut files = 0u64;
    let mut bytes = 0u64;
    let mut dir_modes: Vec<(PathBuf, u32)> = Vec::new();
    fs::create_dir(root)?;
    let mut level = vec![root.to_path_buf()];
    for depth in 0..=shape.depth {
        let mut next = Vec::new();
        for dir in &level {
            for f in 0..shape.files_per_dir {
                let size = tree_file_size(seed, files);
                let path = dir.join(format!("file{f:03}.dat"));
                create_file(&path, file_seed(seed, files + 1_000_000), size)?;
                let mode = FILE_MODES[rng.range(0, FILE_MODES.len() as u64) as usize];
                crate::engine::blocking::set_mode(&path, mode)?;
                files += 1;
                bytes += size;
            }
            if depth < shape.depth {
                for d in 0..shape.fanout {
                    let sub = dir.join(format!("dir{d:02}"));
                    fs::create_dir(&sub)?;
                    let mode = DIR_MODES[rng.range(0, DIR_MODES.len() as u64) as usize];
                    dir_modes.push((sub.clone(), mode));
                    next.push(sub);
                }
                fs::create_dir(dir.join("empty"))?;
            }
        }
        level = next;
    }
    // Modes last: a 0o700 directory is still writable by us, but apply them after the files
    // anyway so the order never matters.
    for (dir, mode) in dir_modes {
        crate::engine::blocking::set_mode(&dir, mode)?;
    }
    Ok((files, bytes))
}

/// Why a destination does not match what it should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Compare two files byte for byte; the first differing offset on failure.
pub fn compare_files(src: &Path, dst: &Path) -> io::Result<Result<(), Mismatch>> {
    let mut a = fs::File::open(src)?;
    let mut b = match fs::File::open(dst) {
        Ok(b) => b,
        Err(e) => return Ok(Err(Mismatch(format!("{}: {e}", dst.display())))),
    };
    let (la, lb) = (a.metadata()?.len(), b.metadata()?.len());
    if la != lb {
        return Ok(Err(Mismatch(format!(
            "{}: size {lb}, expected {la}",
            dst.display()
        ))));
    }
    compare_streams(&mut a, &mut b, dst)
}

fn compare_streams(
    a: &mut impl Read,
    b: &mut impl Read,
    what: &Path,
) -> io::Result<Result<(), Mismatch>> {
    let mut ba = vec![0u8; 1 << 20];
    let mut bb = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let na = read_full(a, &mut ba)?;
        let nb = read_full(b, &mut bb)?;
        if let Some(i) = (0..na.min(nb)).find(|&i| ba[i] != bb[i]) {
            return Ok(Err(Mismatch(format!(
                "{}: differs at byte {}",
                what.display(),
                off + i as u64
            ))));
        }
        if na != nb {
            return Ok(Err(Mismatch(format!(
                "{}: length differs after byte {}",
                what.display(),
                off + na.min(nb) as u64
            ))));
        }
        if na == 0 {
            return Ok(Ok(()));
        }
        off += na as u64;
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Check a file written by the `write` workload against the image it must hold.
pub fn verify_write_image(
    path: &Path,
    seed: u64,
    block_size: usize,
    size: u64,
) -> io::Result<Result<(), Mismatch>> {
    let mut f = fs::File::open(path)?;
    let got = f.metadata()?.len();
    if got != size {
        return Ok(Err(Mismatch(format!(
            "{}: size {got}, expected {size}",
            path.display()
        ))));
    }
    let mut want = vec![0u8; block_size];
    let mut have = vec![0u8; block_size];
    let mut off = 0u64;
    while off < size {
        let n = (size - off).min(block_size as u64) as usize;
        write_image_block(seed, block_size, off, &mut want[..n]);
        f.read_exact(&mut have[..n])?;
        if let Some(i) = (0..n).find(|&i| want[i] != have[i]) {
            return Ok(Err(Mismatch(format!(
                "{}: differs at byte {}",
                path.display(),
                off + i as u64
            ))));
        }
        off += n as u64;
    }
    Ok(Ok(()))
}

/// Compare two trees: same entries, kinds, permission bits and file contents.
pub fn compare_trees(src: &Path, dst: &Path) -> io::Result<Result<(), Mismatch>> {
    let a = crate::engine::blocking::read_dir(src)?;
    let b = match crate::engine::blocking::read_dir(dst) {
        Ok(b) => b,
        Err(e) => return Ok(Err(Mismatch(format!("{}: {e}", dst.display())))),
    };
    let names = |v: &[crate::DirEntry]| v.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
    if names(&a) != names(&b) {
        return Ok(Err(Mismatch(format!(
            "{}: entries differ: {:?} vs {:?}",
            dst.display(),
            names(&a),
            names(&b)
        ))));
    }
    for (ea, eb) in a.iter().zip(&b) {
        let (pa, pb) = (src.join(&ea.name), dst.join(&eb.name));
        let (ma, mb) = (
            crate::engine::blocking::metadata(&pa)?,
            crate::engine::blocking::metadata(&pb)?,
        );
        if ma.kind != mb.kind || ma.mode != mb.mode {
            return Ok(Err(Mismatch(format!(
                "{}: {:?} mode {:o}, expected {:?} mode {:o}",
                pb.display(),
                mb.kind,
                mb.mode,
                ma.kind,
                ma.mode
            ))));
        }
        let r = match ma.kind {
            crate::FileKind::Dir => compare_trees(&pa, &pb)?,
            crate::FileKind::File => compare_files(&pa, &pb)?,
            _ => Ok(()),
        };
        if r.is_err() {
            return Ok(r);
        }
    }
    Ok(Ok(()))
}

/// A buffer holding `len` bytes of dataset `seed` at `offset` (test and write-workload helper).
pub fn dataset_buf(seed: u64, offset: u64, len: usize) -> AlignedBuf {
    let mut b = AlignedBuf::new(len);
    fill(seed, offset, b.spare_mut());
    b.set_len(len);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_deterministic_and_seed_dependent() {
        let mut a = vec![0u8; 10_000];
        let mut b = vec![0u8; 10_000];
        fill(1, 0, &mut a);
        fill(1, 0, &mut b);
        assert_eq!(a, b);
        fill(2, 0, &mut b);
        assert_ne!(a, b);
        // A slice generated at an offset equals the same range of a whole generation.
        let mut c = vec![0u8; 4096];
        fill(1, 4096, &mut c);
        assert_eq!(&a[4096..8192], &c[..]);
    }

    #[test]
    fn headers_catch_wrong_offsets() {
        let mut a = vec![0u8; 3 * 4096];
        fill(7, 8192, &mut a);
        assert_eq!(check_headers(7, 8192, &a), 0);
        assert_eq!(check_headers(7, 0, &a), 3);
        assert_eq!(check_headers(8, 8192, &a), 3);
        // Unaligned views only check the headers wholly inside them.
        assert_eq!(check_headers(7, 8192 + 100, &a[100..]), 0);
        // ... and a view placed at the wrong offset fails on each of its 3 whole headers.
        assert_eq!(check_headers(7, 8192, &a[100..]), 3);
    }

    #[test]
    fn stamping_restores_headers() {
        let mut a = vec![0u8; 8192];
        fill(3, 0, &mut a);
        stamp_headers(3, 65536, &mut a);
        assert_eq!(check_headers(3, 65536, &a), 0);
    }

    #[test]
    fn small_sizes_cover_edges() {
        let sizes: Vec<u64> = (0..200).map(|i| small_size(42, i)).collect();
        assert_eq!(sizes[0], 0);
        assert!(!sizes[1].is_multiple_of(4096));
        assert!(sizes.iter().any(|&s| s > 64 * 1024));
        assert_eq!(
            sizes,
            (0..200).map(|i| small_size(42, i)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn trees_compare() {
        let d = tempfile::tempdir().unwrap();
        let shape = TreeShape {
            depth: 1,
            fanout: 2,
            files_per_dir: 2,
        };
        let (files, bytes) = create_tree(&d.path().join("a"), 5, shape).unwrap();
        assert_eq!(files, 6);
        assert_eq!((files, bytes), (tree_files(shape), tree_bytes(5, shape)));
        create_tree(&d.path().join("b"), 5, shape).unwrap();
        assert_eq!(
            compare_trees(&d.path().join("a"), &d.path().join("b")).unwrap(),
            Ok(())
        );
        crate::engine::blocking::set_mode(&d.path().join("b/file000.dat"), 0o640).unwrap();
        assert!(
            compare_trees(&d.path().join("a"), &d.path().join("b"))
                .unwrap()
                .is_err()
        );
    }
}
