//! Python binding of ssecast (placeholder; see issue 4).
