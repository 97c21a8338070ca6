import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Training tests share two cores with others: one intra-op thread is faster and steadier."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
