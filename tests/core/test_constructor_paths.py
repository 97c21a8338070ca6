"""A Constructor may name its class by dotted path, so layer modules need not import torch."""

import pytest
from torch import nn

from workbench.core.catalog import CatalogError, Constructor


def test_a_dotted_path_builds_the_same_module_as_the_class():
    built = Constructor("torch.nn.Linear", {"in_features": 3, "out_features": 2}).build()
    assert type(built) is nn.Linear and built.weight.shape == (2, 3)


@pytest.mark.parametrize("path", ["os.system", "builtins.eval", "torchx.evil.Thing", "torch.nn.functional.relu"])
def test_paths_outside_the_libraries_or_not_naming_a_class_are_refused(path):
    with pytest.raises(CatalogError):
        Constructor(path).module_class
