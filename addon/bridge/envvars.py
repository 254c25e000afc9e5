"""Environment variables the bridge reads, named once. The runner that sets them imports the names from
here; this module imports nothing (no ``bpy``), so a worker pool's parent stays light."""

DEFER_EXPORTS = "SYNTHKILN_DEFER_EXPORTS"   # "1" in a worker-pool child: the pool writes the exports once
