"""A streaming Django storage backend on S3-compatible object storage (minio SDK)."""
