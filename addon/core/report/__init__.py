"""The dataset report (``synthkiln report``): statistics of a dataset, optionally beside a real COCO set,
drawn as one self-contained HTML page. Data (model, stats, real, compare, build) is kept apart from
drawing (plots, sheet, page), which alone needs matplotlib."""
