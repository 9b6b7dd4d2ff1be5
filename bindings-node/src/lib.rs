//! Node binding of ssecast (placeholder; see issue 5).
