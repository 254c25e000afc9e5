"""A dataset on disk: its layout, manifest and shards, frame records, heartbeats, checks and the job report."""
