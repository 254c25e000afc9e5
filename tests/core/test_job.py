"""Shards, manifests and the dataset folder contract."""

import json

import pytest

from synthkiln.addon.core.errors import DatasetError, UserError
from synthkiln.addon.core.dataset.job import Shard, open_dataset, parse_shard, recipe_hash
from synthkiln.addon.core.recipe.model import Recipe


@pytest.mark.parametrize("total, n", [(0, 1), (1, 3), (10, 3), (20, 4), (7, 7), (1000, 13)])
def test_shards_partition_the_frames(total, n):
    seen = [i for k in range(n) for i in Shard(k, n).frames(total)]
    assert seen == list(range(total))


def test_parse_shard():
    assert parse_shard("2/4") == Shard(2, 4)
    assert parse_shard(None) == Shard(0, 1)
    assert parse_shard("SLURM_ARRAY_TASK_ID/3", {"SLURM_ARRAY_TASK_ID": "2"}) == Shard(2, 3)
    for bad, words in (("4/4", "out of range"), ("1/0", "out of range"), ("x", "expected K/N"),
                       ("TASK/2", "not set")):
        with pytest.raises(UserError, match=words):
            parse_shard(bad, {})


def test_open_dataset_refuses_another_recipe(tmp_path):
    r = Recipe()
    m = open_dataset(tmp_path, r, "5.0.1")
    assert json.loads((tmp_path / "synthkiln.json").read_text())["recipe_hash"] == m["recipe_hash"]
    r.output.frames = 50          # more frames: the same job, extended
    assert open_dataset(tmp_path, r, "5.0.1")["frames"] == 50
    other = Recipe()
    other.output.seed = 5
    with pytest.raises(DatasetError, match="another recipe or seed"):
        open_dataset(tmp_path, other, "5.0.1")


def test_recipe_hash_ignores_where_and_how_many():
    a, b = Recipe(), Recipe()
    b.output.directory, b.output.frames = "/elsewhere", 999
    assert recipe_hash(a) == recipe_hash(b)
    b.render.samples = 3
    assert recipe_hash(a) != recipe_hash(b)
