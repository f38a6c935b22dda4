"""The CloudFront edge: one HTTP listener whose responses are cached with CloudFront's semantics."""
