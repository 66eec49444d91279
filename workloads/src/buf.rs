//! `AlignedBuf`: the one owned buffer type every engine moves into and out of the kernel.
//!
//! io_uring runtimes take ownership of a buffer for the life of an operation (the kernel may
//! write into it until the completion arrives), so the workloads hand buffers *by value* to the
//! engine and get them back with the result. One type for every engine keeps the comparison
//! fair: the same allocation, the same alignment (4 KiB, enough for `O_DIRECT` on every common
//! device), the same reuse pattern. Each engine crate wraps it in a newtype that implements its
//! runtime's buffer traits.
//!
//! The buffer has a *window* `[begin, limit)` inside its allocation and an initialised mark
//! `len` inside the window:
//!
//! ```text
//! 0 ........ begin ======== len ---------- limit ...... cap
//!            |  data (init) |  spare       |
//! ```
//!
//! * a **read** fills the spare region starting at `len`; the generic loop only reads into an
//!   empty window (`len == begin`), so "read into the start of the window" (tokio-uring,
//!   monoio) and "read into the spare capacity" (compio, std) mean the same bytes;
//! * a **write** sends `[begin, len)`;
//! * after a short transfer the loop calls [`AlignedBuf::advance`] to move `begin` past what was
//!   done and resubmits the rest, then [`AlignedBuf::rewind`] to see the whole block again.
//!
//! The memory is zeroed at allocation, so every byte is always initialised and
//! [`AlignedBuf::set_len`] is safe.

use std::alloc::{Layout, alloc_zeroed, dealloc, handle_alloc_error};
use std::fmt;
use std::ptr::NonNull;

/// Alignment of every buffer: a page, which satisfies `O_DIRECT` on 512-byte and 4 KiB devices.
pub const ALIGN: usize = 4096;

/// An owned, page-aligned, zero-initialised byte buffer with a movable window.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    cap: usize,
    limit: usize,
    begin: usize,
    len: usize,
}

// SAFETY: the buffer uniquely owns its allocation, like a `Vec<u8>`.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads through `&self`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A zeroed buffer of `cap` bytes, aligned to [`ALIGN`], with an empty window over all of it.
    pub fn new(cap: usize) -> Self {
        let layout = Self::layout(cap);
        // SAFETY: the layout has a non-zero size (see `layout`).
        let raw = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        AlignedBuf {
            ptr,
            cap,
            limit: cap,
            begin: 0,
            len: 0,
        }
    }

    /// A buffer holding a copy of `data`, window over the data.
    pub fn from_slice(data: &[u8]) -> Self {
        let mut b = Self::new(data.len());
        b.spare_mut()[..data.len()].copy_from_slice(data);
        b.set_len(data.len());
        b
    }

    fn layout(cap: usize) -> Layout {
        // A zero-sized allocation is not allowed; one page keeps zero-capacity buffers valid.
        Layout::from_size_align(cap.max(1), ALIGN).expect("buffer size overflows a Layout")
    }

    /// Size of the allocation.
    pub fn allocation(&self) -> usize {
        self.cap
    }

    /// Bytes of data in the window (`len - begin`): what a write would send.
    pub fn len(&self) -> usize {
        self.len - self.begin
    }

    /// True when the window holds no data.
    pub fn is_empty(&self) -> bool {
        self.len == self.begin
    }

    /// Size of the window (`limit - begin`): the most a read into an empty window may fill.
    pub fn capacity(&self) -> usize {
        self.limit - self.begin
    }

    /// Pointer to the start of the window.
    pub fn as_ptr(&self) -> *const u8 {
        // SAFETY: begin <= cap, so the pointer stays inside (or one past) the allocation.
        unsafe { self.ptr.as_ptr().add(self.begin) }
    }

    /// Mutable pointer to the start of the window.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        // SAFETY: as in `as_ptr`.
        unsafe { self.ptr.as_ptr().add(self.begin) }
    }

    /// The data in the window.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: [begin, len) lies inside the zero-initialised allocation.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len()) }
    }

    /// The data in the window, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let n = self.len();
        // SAFETY: as in `as_slice`, and we hold `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.as_mut_ptr(), n) }
    }

    /// The spare region `[len, limit)` a read fills.
    pub fn spare_mut(&mut self) -> &mut [u8] {
        let n = self.limit - self.len;
        // SAFETY: [len, limit) lies inside the allocation; we hold `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(self.len), n) }
    }

    /// Mark the first `n` bytes of the window as data. Panics if `n` exceeds the window.
    pub fn set_len(&mut self, n: usize) {
        assert!(
            n <= self.capacity(),
            "set_len({n}) beyond window of {}",
            self.capacity()
        );
        self.len = self.begin + n;
    }

    /// Move the window start past `n` bytes of data (after a short write, or to continue a
    /// short read into an empty window). Panics if `n` exceeds the data.
    pub fn advance(&mut self, n: usize) {
        assert!(
            n <= self.len(),
            "advance({n}) beyond {} bytes of data",
            self.len()
        );
        self.begin += n;
    }

    /// Move the window start back to the beginning of the allocation, keeping data and limit.
    pub fn rewind(&mut self) {
        self.begin = 0;
    }

    /// Empty the buffer and set the window to `[0, min(limit, allocation))`.
    pub fn reset(&mut self, limit: usize) {
        self.begin = 0;
        self.len = 0;
        self.limit = limit.min(self.cap);
    }

    /// Shrink the data to its first `n` bytes (relative to the window).
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.len = self.begin + n;
        }
    }

    /// Set the window end to `begin + n` (bounded by the allocation), keeping data below it.
    pub fn set_limit(&mut self, n: usize) {
        self.limit = (self.begin + n).min(self.cap);
        self.len = self.len.min(self.limit);
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with exactly this layout.
        unsafe { dealloc(self.ptr.as_ptr(), Self::layout(self.cap)) }
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("cap", &self.cap)
            .field("begin", &self.begin)
            .field("len", &self.len)
            .field("limit", &self.limit)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        let b = AlignedBuf::new(10_000);
        assert_eq!(b.as_ptr() as usize % ALIGN, 0);
        assert_eq!(b.capacity(), 10_000);
        assert!(b.is_empty());
        let mut b = b;
        assert!(b.spare_mut().iter().all(|&x| x == 0));
    }

    #[test]
    fn window_moves() {
        let mut b = AlignedBuf::from_slice(b"hello world");
        assert_eq!(b.as_slice(), b"hello world");
        b.advance(6);
        assert_eq!(b.as_slice(), b"world");
        assert_eq!(b.capacity(), 5);
        b.rewind();
        assert_eq!(b.as_slice(), b"hello world");
        b.reset(4);
        assert!(b.is_empty());
        assert_eq!(b.capacity(), 4);
        b.spare_mut().copy_from_slice(b"abcd");
        b.set_len(4);
        assert_eq!(b.as_slice(), b"abcd");
    }

    #[test]
    #[should_panic(expected = "beyond window")]
    fn set_len_checks_window() {
        let mut b = AlignedBuf::new(8);
        b.set_len(9);
    }

    #[test]
    fn zero_capacity_is_valid() {
        let mut b = AlignedBuf::new(0);
        assert_eq!(b.capacity(), 0);
        assert!(b.spare_mut().is_empty());
    }
}
