//! `UringBuf`: [`AlignedBuf`] as a tokio-uring owned buffer.
//!
//! tokio-uring's `File::read_at` reads into `stable_mut_ptr()` for `bytes_total()` bytes (the
//! **start** of the buffer, not its spare part) and then calls `set_init(n)`; `write_at` sends
//! `bytes_init()` bytes from `stable_ptr()` (see `io/read.rs` and `io/write.rs` in
//! tokio-uring 0.5). With the window mapped as below, and the workloads only ever reading into an
//! empty window, a read lands exactly where the [`workloads::Engine`] contract says.

use tokio_uring::buf::{IoBuf, IoBufMut};
use workloads::AlignedBuf;

/// An [`AlignedBuf`] owned by tokio-uring for the life of an op.
#[derive(Debug)]
pub struct UringBuf(pub AlignedBuf);

// SAFETY: the pointer is the window start of a heap allocation that does not move when the
// newtype moves, and nothing changes the window while tokio-uring owns the buffer;
// `bytes_init <= bytes_total` because the window's data never exceeds the window.
unsafe impl IoBuf for UringBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.0.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.0.len()
    }

    fn bytes_total(&self) -> usize {
        self.0.capacity()
    }
}

// SAFETY: as above; every byte of an `AlignedBuf` is initialised (it is zeroed at allocation),
// so marking bytes as data never exposes uninitialised memory.
unsafe impl IoBufMut for UringBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }

    unsafe fn set_init(&mut self, pos: usize) {
        // Same rule as tokio-uring's `Vec<u8>`: the initialised mark only grows.
        if self.0.len() < pos {
            self.0.set_len(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_the_window() {
        let mut b = UringBuf(AlignedBuf::new(64));
        assert_eq!((b.bytes_init(), b.bytes_total()), (0, 64));
        assert_eq!(b.stable_ptr(), b.0.as_ptr());
        // What tokio-uring does after a read of 10 bytes.
        // SAFETY: AlignedBuf memory is always initialised.
        unsafe { b.set_init(10) };
        assert_eq!(b.0.len(), 10);
        // A smaller mark does not shrink the data.
        // SAFETY: as above.
        unsafe { b.set_init(4) };
        assert_eq!(b.0.len(), 10);
        // With the window moved (after a short transfer), the pointer follows it.
        b.0.advance(10);
        assert_eq!(b.stable_ptr(), b.0.as_ptr());
        assert_eq!((b.bytes_init(), b.bytes_total()), (0, 54));
    }
}
