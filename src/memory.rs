//! Memory between phases: the binary's allocator is mimalloc (`main.rs`), and after the
//! manifests are checked on worker threads their scratch (YAML trees, JSON values,
//! 100,000 printed warnings at scale) lies freed in those threads' abandoned heaps. The
//! listing that follows runs on other threads and would not reuse it; [`give_back`]
//! returns it to the system first, so a plan's peak is its data, not its history.

/// Return freed memory to the operating system now (mimalloc's `mi_collect(true)`; a
/// no-op for memory mimalloc did not allocate, as in tests on the system allocator).
pub fn give_back() {
    // SAFETY: `mi_collect` takes a plain flag and only inspects mimalloc's own heaps; it
    // may be called at any time from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
