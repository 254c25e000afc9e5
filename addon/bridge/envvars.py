"""Environment variables the bridge reads, named once. The runner that sets them imports the names from
here; this module imports nothing (no ``bpy``), so a worker pool's parent stays light."""

DEFER_EXPORTS = "SYNTHKILN_DEFER_EXPORTS"   # "1" in a worker-pool child: the pool writes the exports once
GPU = "SYNTHKILN_GPU"                       # a worker-pool child's GPU: Cycles device ids, comma-separated
THREADS = "SYNTHKILN_THREADS"               # a worker-pool child's CPU threads (--workers auto), over render.threads
STRICT_ASSETS = "SYNTHKILN_STRICT_ASSETS"   # "1": a model file that cannot be imported stops the job (--strict)
