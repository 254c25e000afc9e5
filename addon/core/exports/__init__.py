"""Export formats built from the frame records: ``build.write_exports`` runs the writers (COCO, YOLO, VOC,
KITTI) and the previews; ``common`` has what they share."""
