"""Catalogs: ingestion of folders and manifests (:mod:`.ingest`) and the embedded sample (:mod:`.sample`)."""
