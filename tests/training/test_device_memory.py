"""The dashboard's status line reads the memory in use on the training device: the CPU
gives this process's resident memory, which grows when the process holds more."""

from __future__ import annotations

import mmap

import pytest
import torch

from workbench.training import device as device_module
from workbench.training.device import MemoryInUse, device_name, format_bytes, memory_in_use


def test_cpu_memory_is_the_resident_size_and_follows_an_allocation():
    before = memory_in_use("cpu")
    assert before is not None and before.what == "resident" and before.reserved is None
    # fresh pages from the kernel, each touched: malloc could hand back memory a long test
    # session already holds resident
    block = mmap.mmap(-1, 64 * 2**20)
    block.write(b"\1" * len(block))
    after = memory_in_use(torch.device("cpu"))
    assert after.used - before.used > 48 * 2**20, (before, after)
    block.close()
    assert after.text.endswith("MiB resident") or after.text.endswith("GiB resident")


def test_without_proc_the_peak_from_getrusage_is_used(monkeypatch):
    import builtins

    pytest.importorskip("resource")

    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise OSError("no /proc here")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    memory = device_module.memory_in_use("cpu")
    assert memory.what == "peak resident" and memory.used > 10 * 2**20


def test_texts_name_the_device_and_the_amounts():
    assert device_name("cpu") == "CPU"
    assert format_bytes(512) == "512 B" and format_bytes(3 * 2**20 // 2) == "1.5 MiB"
    assert format_bytes(5 * 2**30) == "5.0 GiB"
    assert MemoryInUse(2**30, "allocated", 2 * 2**30).text == "1.0 GiB allocated of 2.0 GiB reserved"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_memory_counts_allocated_tensors():
    before = memory_in_use("cuda:0")
    x = torch.empty(32 * 2**20, dtype=torch.uint8, device="cuda:0")
    after = memory_in_use("cuda")
    assert after.what == "allocated" and after.used - before.used >= 32 * 2**20
    assert after.reserved >= after.used
    assert device_name("cuda:0").startswith("cuda:0 · ") and torch.cuda.get_device_name(0) in device_name("cuda:0")
    del x
