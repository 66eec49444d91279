//! `Quarantine`: a global allocator that is a pass-through to the system allocator until it is
//! *armed*, and then keeps every freed block poisoned instead of handing it back.
//!
//! It is the memory oracle of the safety scenarios. A kernel that still owns a buffer after its
//! future was dropped either writes into it (a read completing late) or reads from it (a write
//! completing late). With the quarantine armed, the freed buffer is never reused, so:
//!
//! * a **write after free** shows as poison that is no longer intact ([`check`]);
//! * a **read after free** shows as poison bytes in data that reached a pipe or file
//!   ([`poison_bytes_in`]).
//!
//! Blocks freed while armed are never released (the kernel may still write to them later), so
//! arm it only in short-lived processes or tests.
//!
//! It also counts live *buffer* bytes — allocations aligned to [`ALIGN`](crate::ALIGN) or more,
//! which is what [`AlignedBuf`](crate::AlignedBuf) allocates — so a trial can report buffers
//! leaked by cancelled ops ([`live_buffer_bytes`]). Disarmed, the cost per call is one relaxed
//! load, plus one relaxed add for page-aligned blocks: nothing on the copy loop's hot path
//! allocates.
//!
//! The binary must install it:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: workloads::alloc::Quarantine = workloads::alloc::Quarantine::new();
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

/// The poison written over every block freed while armed: eight distinct bytes, so a shifted
/// copy of the pattern never matches itself and seeded content matches it with odds of 2^-64.
pub const POISON: [u8; 8] = [0xDB, 0x5A, 0xF0, 0x0D, 0xC3, 0x96, 0x2E, 0x71];

/// Blocks the quarantine can remember; frees beyond it are leaked without a record.
const SLOTS: usize = 1 << 16;

/// The allocator. Install it with `#[global_allocator]` (see the module doc).
#[derive(Debug)]
pub struct Quarantine {
    _private: (),
}

impl Quarantine {
    /// The allocator value for a `#[global_allocator]` static.
    pub const fn new() -> Quarantine {
        Quarantine { _private: () }
    }
}

impl Default for Quarantine {
    fn default() -> Self {
        Quarantine::new()
    }
}

static INSTALLED: AtomicBool = AtomicBool::new(false);
static ARMED: AtomicBool = AtomicBool::new(false);
static LIVE_BUF: AtomicI64 = AtomicI64::new(0);
static LOCK: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);
/// Quarantined blocks as (address, size), guarded by `LOCK`. A fixed static array: recording a
/// block must not allocate.
static mut BLOCKS: [(usize, usize); SLOTS] = [(0, 0); SLOTS];

fn is_buffer(layout: &Layout) -> bool {
    layout.align() >= crate::ALIGN
}

fn lock() {
    while LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
}

fn unlock() {
    LOCK.store(false, Ordering::Release);
}

fn poison(ptr: *mut u8, size: usize) {
    for i in 0..size {
        // SAFETY: the caller owns `size` bytes at `ptr` (a block being freed).
        unsafe { *ptr.add(i) = POISON[i % POISON.len()] };
    }
}

/// Poison and keep a block instead of freeing it.
fn quarantine(ptr: *mut u8, size: usize) {
    poison(ptr, size);
    lock();
    let n = COUNT.load(Ordering::Relaxed);
    if n < SLOTS {
        // SAFETY: BLOCKS is only touched under LOCK.
        unsafe { (*std::ptr::addr_of_mut!(BLOCKS))[n] = (ptr as usize, size) };
        COUNT.store(n + 1, Ordering::Relaxed);
    } else {
        DROPPED.fetch_add(1, Ordering::Relaxed);
    }
    unlock();
}

// SAFETY: every path hands out memory from `System` with the caller's layout; while armed,
// freed blocks are kept (never reused), which is always allowed.
unsafe impl GlobalAlloc for Quarantine {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_buffer(&layout) {
            INSTALLED.store(true, Ordering::Relaxed);
            LIVE_BUF.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_buffer(&layout) {
            INSTALLED.store(true, Ordering::Relaxed);
            LIVE_BUF.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_buffer(&layout) {
            LIVE_BUF.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        if ARMED.load(Ordering::Relaxed) {
            quarantine(ptr, layout.size());
        } else {
            // SAFETY: `ptr` came from `System` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) || is_buffer(&layout) {
            // The slow, exact path: a fresh block, a copy, and the old block through `dealloc`
            // (so it is quarantined when armed and counted either way).
            // SAFETY: the new layout is valid per `realloc`'s contract.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: forwarded.
            let new = unsafe { self.alloc(new_layout) };
            if !new.is_null() {
                // SAFETY: both blocks are valid for the smaller of the two sizes.
                unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
                // SAFETY: `ptr` was allocated by us with `layout`.
                unsafe { self.dealloc(ptr, layout) };
            }
            new
        } else {
            // SAFETY: forwarded with the caller's layout.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

/// Whether the running binary installed [`Quarantine`] as its global allocator (seen once it
/// allocated a buffer). Without it, the memory oracles cannot see anything.
pub fn installed() -> bool {
    if !INSTALLED.load(Ordering::Relaxed) {
        // One buffer-sized allocation tells: it goes through us only if we are installed.
        // `black_box`, or the optimiser removes the unused allocation and we answer "no" in a
        // binary that has us installed (seen in release builds).
        drop(std::hint::black_box(crate::AlignedBuf::new(crate::ALIGN)));
    }
    INSTALLED.load(Ordering::Relaxed)
}

/// Bytes in live buffer allocations (aligned to [`ALIGN`](crate::ALIGN) or more); 0 when not
/// installed.
pub fn live_buffer_bytes() -> i64 {
    LIVE_BUF.load(Ordering::Relaxed)
}

/// Start quarantining: from now on, every freed block is poisoned and kept, and [`check`]
/// looks only at blocks kept from now on. Blocks kept by an earlier arming stay kept (never
/// reused) but are no longer recorded or checked.
pub fn arm() {
    lock();
    COUNT.store(0, Ordering::Relaxed);
    DROPPED.store(0, Ordering::Relaxed);
    unlock();
    ARMED.store(true, Ordering::SeqCst);
}

/// Stop quarantining new frees. Blocks already kept stay kept (and checkable).
pub fn disarm() {
    ARMED.store(false, Ordering::SeqCst);
}

/// Whether frees are being quarantined now.
pub fn armed() -> bool {
    ARMED.load(Ordering::Relaxed)
}

/// What [`check`] found in the quarantine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoisonReport {
    /// Blocks kept since the last [`arm`].
    pub blocks: usize,
    /// Their total size.
    pub bytes: usize,
    /// Frees that did not fit in the record (kept, but not checked).
    pub unrecorded: usize,
    /// Blocks whose poison is no longer intact.
    pub damaged_blocks: usize,
    /// Bytes that differ from the poison: written after the block was freed.
    pub damaged_bytes: usize,
}

/// Check the poison of every block kept since the last [`arm`]. Bytes that changed were
/// written after free.
pub fn check() -> PoisonReport {
    lock();
    let n = COUNT.load(Ordering::Relaxed);
    let mut r = PoisonReport {
        blocks: n,
        unrecorded: DROPPED.load(Ordering::Relaxed),
        ..PoisonReport::default()
    };
    for i in 0..n {
        // SAFETY: under LOCK; entries below COUNT are recorded blocks, kept forever.
        let (addr, size) = unsafe { (*std::ptr::addr_of!(BLOCKS))[i] };
        r.bytes += size;
        let mut bad = 0;
        for j in 0..size {
            // SAFETY: the block is never freed once quarantined. A volatile read: the kernel
            // may have changed it behind the compiler's back.
            let b = unsafe { std::ptr::read_volatile((addr as *const u8).add(j)) };
            if b != POISON[j % POISON.len()] {
                bad += 1;
            }
        }
        if bad > 0 {
            r.damaged_blocks += 1;
            r.damaged_bytes += bad;
        }
    }
    unlock();
    r
}

/// Bytes of `data` that belong to runs of poison (at least 16 bytes of the pattern in a row, at
/// any alignment): freed memory that reached a file or pipe.
pub fn poison_bytes_in(data: &[u8]) -> usize {
    const MIN_RUN: usize = 2 * POISON.len();
    let mut total = 0;
    let mut i = 0;
    while i + MIN_RUN <= data.len() {
        // Find the phase of the pattern that this byte would be at, if any.
        let Some(phase) = POISON.iter().position(|&p| p == data[i]) else {
            i += 1;
            continue;
        };
        let mut run = 0;
        while i + run < data.len() && data[i + run] == POISON[(phase + run) % POISON.len()] {
            run += 1;
        }
        if run >= MIN_RUN {
            total += run;
            i += run;
        } else {
            i += 1;
        }
    }
    total
}

/// Open file descriptors of this process (entries of `/proc/self/fd`, minus the one used to
/// list it).
pub fn fd_count() -> std::io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?
        .count()
        .saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poison_runs_found_at_any_phase() {
        let mut d = vec![7u8; 100];
        for (k, b) in d[13..13 + 40].iter_mut().enumerate() {
            *b = POISON[(k + 3) % 8];
        }
        assert_eq!(poison_bytes_in(&d), 40);
        // A short run (15 bytes) is not counted.
        let mut e = vec![0u8; 50];
        for (k, b) in e[5..20].iter_mut().enumerate() {
            *b = POISON[k % 8];
        }
        assert_eq!(poison_bytes_in(&e), 0);
        let mut seeded = vec![0u8; 1 << 16];
        crate::data::fill(3, 0, &mut seeded);
        assert_eq!(poison_bytes_in(&seeded), 0);
    }

    #[test]
    fn fd_oracle_sees_leaked_descriptors() {
        const LEAKED: usize = 40;
        let before = fd_count().unwrap();
        let raws: Vec<_> = (0..LEAKED)
            .map(|_| {
                std::os::fd::IntoRawFd::into_raw_fd(std::fs::File::open("/proc/self/stat").unwrap())
            })
            .collect(); // deliberately leaked
        let after = fd_count().unwrap();
        for raw in raws {
            // SAFETY: we own `raw` and close it once.
            unsafe { libc::close(raw) };
        }
        // Other tests of this binary open and close a few files meanwhile: allow for them.
        assert!(
            after >= before + LEAKED - 8,
            "leaked fds not seen: {before} -> {after}"
        );
    }
}
