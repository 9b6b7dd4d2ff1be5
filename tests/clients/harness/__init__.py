"""The client matrix's harness: the ssecast binary, a proxy that cuts streams,
the SSE clients under test run as programs, and the wire vectors read the way
the spec reads them."""
