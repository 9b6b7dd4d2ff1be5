//! The C ABI of ssecast (placeholder; see issue 3).
