"""Document renderers: contracts to PDF with an embedded Chinese font."""
