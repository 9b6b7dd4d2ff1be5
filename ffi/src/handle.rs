//! Box-owned opaque handles: created once by a `_new`/`_start` function, owned by
//! the C caller, released once by the matching `_free`.

/// A type handed to C as an opaque pointer that owns one boxed value.
pub(crate) trait BoxHandle: Sized {
    /// Moves `self` to the heap and gives up ownership to the caller.
    fn into_raw(self) -> *mut Self {
        Box::into_raw(Box::new(self))
    }

    /// Takes ownership back from C and drops the value; NULL is a no-op.
    ///
    /// # Safety
    /// `ptr` must be NULL or a pointer returned by [`BoxHandle::into_raw`] that has
    /// not been freed yet and is not in use by another thread.
    unsafe fn free(ptr: *mut Self) {
        if !ptr.is_null() {
            // SAFETY: the caller guarantees `ptr` came from `into_raw` and is freed once.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}
