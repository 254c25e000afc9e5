"""Label maths on decoded passes: instance masks and RLE, polygons, projection and 3D boxes, rasterising."""
