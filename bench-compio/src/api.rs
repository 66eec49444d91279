//! Every API difference between the compio releases this crate is built against, in one place.
//!
//! The engine itself is written once (`compio_engine!` in `lib.rs`) against the API the three
//! releases share: `fs::{File, OpenOptions, DirBuilder, symlink_metadata, set_permissions}`,
//! `io::{AsyncReadAt, AsyncWriteAt}`, `net::TcpListener::from_std`/`accept`,
//! `runtime::{Runtime, RuntimeBuilder::with_proactor, Runtime::try_with_current, spawn}`,
//! `driver::ProactorBuilder::capacity` and `BufResult`. What differs is here, one module per
//! release, each with the same items:
//!
//! | item | 0.16.0 (compio-buf 0.7, compio-driver 0.9) | 0.19 and 0.20.0-beta.1 (compio-buf 0.8 / 0.9, compio-driver 0.12 / 0.13) |
//! |---|---|---|
//! | [`CompioBuf`]'s buffer traits | `unsafe trait IoBuf { as_buf_ptr, buf_len, buf_capacity }`, `unsafe trait IoBufMut { as_buf_mut_ptr }`, `SetBufInit::set_buf_init` | safe `IoBuf::as_init`, `IoBufMut::as_uninit`, `SetLen::set_len` (0.9 moves the helpers `buf_len`, `buf_capacity`, `advance_to` to `*Ext` traits) |
//! | `proactor(entries)` | `capacity` only: compio-driver 0.9 has no `detect_opcode_support` (and no opcode-missing fallback for the file ops this engine uses, see [`v0_16::proactor`]) | `capacity` + `detect_opcode_support` |
//! | `pipe()` (tests) | `fs::pipe::anonymous()` is synchronous | `fs::pipe::anonymous()` is `async` |

use workloads::AlignedBuf;

/// An [`AlignedBuf`] that compio can own for the life of an op; it implements the buffer
/// traits of every compio-buf release this crate builds against (one impl block per release,
/// below).
///
/// The mapping is the same in all of them: what a write sends is the window's data
/// `[begin, len)`; the buffer a read may fill is the *whole* window `[begin, limit)` — compio's
/// `ReadAt` reads into the **start** of it (0.19: `sys_slice_mut()` = `as_uninit()`; 0.16:
/// `as_mut_slice()` = `[as_buf_mut_ptr, buf_capacity)`, compio-driver-0.9.2
/// `src/iour/op.rs:144-154`), not into the spare part after the length, and then moves the
/// length forward to the byte count (`SetLen::advance_to(n)` / `SetBufInit::set_buf_init(n)`,
/// both of which never shrink it). The workloads only read into an empty window, where start
/// and spare are the same bytes.
#[derive(Debug)]
pub struct CompioBuf(pub AlignedBuf);

impl CompioBuf {
    /// The whole window `[begin, limit)` as uninitialised bytes (every byte of an
    /// `AlignedBuf` is in fact initialised: it is zeroed at allocation).
    fn window_uninit(&mut self) -> &mut [std::mem::MaybeUninit<u8>] {
        let cap = self.0.capacity();
        // SAFETY: `[begin, limit)` lies inside the allocation, which we borrow mutably; the
        // pointer does not move while compio owns the buffer (the allocation is on the heap).
        unsafe {
            std::slice::from_raw_parts_mut(
                self.0.as_mut_ptr().cast::<std::mem::MaybeUninit<u8>>(),
                cap,
            )
        }
    }
}

/// The compio-buf 0.8 / 0.9 traits (safe `IoBuf`, `IoBufMut`, `SetLen`): their required
/// methods are identical; 0.9 only moved the provided helpers to extension traits.
macro_rules! buf_traits_0_8 {
    ($c:ident) => {
        impl $c::buf::IoBuf for CompioBuf {
            fn as_init(&self) -> &[u8] {
                self.0.as_slice()
            }
        }

        impl $c::buf::SetLen for CompioBuf {
            unsafe fn set_len(&mut self, len: usize) {
                // Every byte is initialised; `AlignedBuf::set_len` panics past the window,
                // which also covers compio's `len <= as_uninit().len()` rule.
                self.0.set_len(len);
            }
        }

        impl $c::buf::IoBufMut for CompioBuf {
            fn as_uninit(&mut self) -> &mut [std::mem::MaybeUninit<u8>] {
                self.window_uninit()
            }
        }
    };
}

/// Opcodes compio's own support check knows about and that the engine's ops (and compio's
/// driver itself: `POLL_ADD` for its wake-up eventfd, `ASYNC_CANCEL` for dropped futures)
/// use; with them set, compio refuses to build a runtime on a kernel that lacks one, instead
/// of quietly running the op on its blocking pool (compio-driver 0.12+ `Driver::push`).
macro_rules! required_opcodes {
    ($c:ident) => {{
        use $c::driver::op::OpCodeFlag;
        OpCodeFlag::OpenAt
            | OpCodeFlag::Read
            | OpCodeFlag::Write
            | OpCodeFlag::Fsync
            | OpCodeFlag::Close
            | OpCodeFlag::AsyncCancel
            | OpCodeFlag::PollAdd
    }};
}

/// compio 0.19 (the current release, engine `compio`).
pub mod v0_19 {
    use super::CompioBuf;

    buf_traits_0_8!(compio);

    /// The ring: `entries` SQEs; refuse to build if an opcode is missing.
    pub fn proactor(entries: u32) -> compio::driver::ProactorBuilder {
        let mut p = compio::driver::ProactorBuilder::new();
        p.capacity(entries)
            .detect_opcode_support(required_opcodes!(compio));
        p
    }

    /// An anonymous pipe (its `anonymous` is async since compio-fs 0.10).
    #[cfg(test)]
    pub async fn pipe() -> std::io::Result<(compio::fs::pipe::Receiver, compio::fs::pipe::Sender)> {
        compio::fs::pipe::anonymous().await
    }

    #[cfg(test)]
    mod tests {
        use super::CompioBuf;
        use compio::buf::{IoBuf, IoBufMut, SetLen};
        use workloads::AlignedBuf;

        /// compio-buf 0.8's view of the window: a read fills it from its start and the
        /// length follows; a write sends exactly the window's data.
        #[test]
        fn buffer_mapping() {
            let mut b = AlignedBuf::from_slice(b"abcdefgh");
            b.advance(3);
            let mut c = CompioBuf(b);
            assert_eq!(c.as_init(), b"defgh");
            assert_eq!(c.buf_capacity(), 5);
            assert_eq!(c.as_uninit().as_ptr().cast::<u8>(), c.0.as_ptr());
            let mut e = CompioBuf(AlignedBuf::new(16));
            assert_eq!(e.buf_len(), 0);
            assert_eq!(e.buf_capacity(), 16);
            // SAFETY: 4 <= capacity, and AlignedBuf bytes are always initialised.
            unsafe { e.advance_to(4) };
            assert_eq!(e.0.len(), 4);
        }
    }
}

/// compio 0.20.0-beta.1 (a **pre-release**, engine `compio@0.20-beta`): the same API as 0.19
/// for everything this engine calls.
#[cfg(feature = "versions")]
pub mod v0_20_beta {
    use super::CompioBuf;

    buf_traits_0_8!(compio_0_20_beta);

    /// The ring: `entries` SQEs; refuse to build if an opcode is missing.
    pub fn proactor(entries: u32) -> compio_0_20_beta::driver::ProactorBuilder {
        let mut p = compio_0_20_beta::driver::ProactorBuilder::new();
        p.capacity(entries)
            .detect_opcode_support(required_opcodes!(compio_0_20_beta));
        p
    }

    /// An anonymous pipe.
    #[cfg(test)]
    pub async fn pipe() -> std::io::Result<(
        compio_0_20_beta::fs::pipe::Receiver,
        compio_0_20_beta::fs::pipe::Sender,
    )> {
        compio_0_20_beta::fs::pipe::anonymous().await
    }
}

/// compio 0.16.0 (engine `compio@0.16`).
#[cfg(feature = "versions")]
pub mod v0_16 {
    use super::CompioBuf;
    use compio_0_16::buf::{IoBuf, IoBufMut, SetBufInit};

    // SAFETY: the pointer, length and capacity describe the window `[begin, len)` /
    // `[begin, limit)` of a live heap allocation that does not move while compio owns it.
    unsafe impl IoBuf for CompioBuf {
        fn as_buf_ptr(&self) -> *const u8 {
            self.0.as_ptr()
        }
        fn buf_len(&self) -> usize {
            self.0.len()
        }
        fn buf_capacity(&self) -> usize {
            self.0.capacity()
        }
    }

    impl SetBufInit for CompioBuf {
        unsafe fn set_buf_init(&mut self, len: usize) {
            // compio-buf 0.7's contract: "if `len` is less than the current length, nothing
            // should happen" (a read of n bytes calls it with n).
            if len > self.0.len() {
                self.0.set_len(len);
            }
        }
    }

    // SAFETY: as for `IoBuf`; the mutable pointer is the window's start.
    unsafe impl IoBufMut for CompioBuf {
        fn as_buf_mut_ptr(&mut self) -> *mut u8 {
            self.window_uninit().as_mut_ptr().cast()
        }
    }

    /// The ring: `entries` SQEs. compio-driver 0.9 has no `detect_opcode_support`; it needs
    /// none for this engine: its io_uring ops for open, read, write, fsync, close, mkdirat and
    /// statx always build an SQE (compio-driver-0.9.2 `src/iour/op.rs:44-230`), so on a
    /// kernel without the opcode the op fails with `EINVAL` instead of silently moving to the
    /// pool; only socket creation probes and falls back (`src/iour/op.rs:269-281`). The
    /// crate's own opcode probe (`check_ring`) still refuses such a kernel up front.
    pub fn proactor(entries: u32) -> compio_0_16::driver::ProactorBuilder {
        let mut p = compio_0_16::driver::ProactorBuilder::new();
        p.capacity(entries);
        p
    }

    /// An anonymous pipe (synchronous in compio-fs 0.9).
    #[cfg(test)]
    pub async fn pipe() -> std::io::Result<(
        compio_0_16::fs::pipe::Receiver,
        compio_0_16::fs::pipe::Sender,
    )> {
        compio_0_16::fs::pipe::anonymous()
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use workloads::AlignedBuf;

        /// compio-buf 0.7's view of the window: a read fills it from its start and the
        /// length only moves forward.
        #[test]
        fn buffer_mapping() {
            let mut b = AlignedBuf::from_slice(b"abcdefgh");
            b.advance(3);
            let mut c = CompioBuf(b);
            assert_eq!(c.as_slice(), b"defgh");
            assert_eq!(c.buf_capacity(), 5);
            assert_eq!(c.as_buf_mut_ptr().cast_const(), c.0.as_ptr());
            let mut e = CompioBuf(AlignedBuf::new(16));
            assert_eq!((e.buf_len(), e.buf_capacity()), (0, 16));
            // SAFETY: 4 <= capacity, and AlignedBuf bytes are always initialised.
            unsafe { e.set_buf_init(4) };
            assert_eq!(e.0.len(), 4);
            // SAFETY: as above; a smaller length is ignored.
            unsafe { e.set_buf_init(2) };
            assert_eq!(e.0.len(), 4);
        }
    }
}
