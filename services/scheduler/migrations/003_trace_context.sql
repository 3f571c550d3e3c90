-- The trace context (W3C traceparent/tracestate headers) of the message a copy came in with, so
-- the release continues that notification's trace however long the copy was held. NULL when the
-- scheduler was not tracing.
ALTER TABLE held ADD COLUMN trace_context jsonb;
