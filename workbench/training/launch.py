"""The command line that trains a project on one device or several (torch-free).

The GUI runs `train_command()` as an argv list (never a shell string): one process, or
`python -m torch.distributed.run --standalone --nproc_per_node=N` (torchrun) for N
processes on this machine. `shown_commands()` is what "Print command" shows: the same
run for a terminal, and the multi-machine form, where every machine runs the same
`torchrun --nnodes ... --rdzv-endpoint ...` line with the same project.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass

__all__ = ["Launch", "launch_of", "train_command", "shown_commands", "STRATEGIES"]

STRATEGIES = ("ddp", "fsdp")


@dataclass(frozen=True)
class Launch:
    """How many processes train the project (one per device) and how they share the model."""

    processes: int = 1
    strategy: str = "ddp"

    @property
    def distributed(self) -> bool:
        return self.processes > 1


def launch_of(training: dict | None) -> Launch:
    """The project's `training.devices` / `training.strategy`, as config.py checked them
    (anything malformed reads as one process: the child's config check reports it)."""
    training = training if isinstance(training, dict) else {}
    devices, strategy = training.get("devices", 1), training.get("strategy", "ddp")
    if not isinstance(devices, int) or isinstance(devices, bool) or devices < 1:
        devices = 1
    return Launch(devices, strategy if strategy in STRATEGIES else "ddp")


def train_command(project_file: str, launch: Launch, *, events: str | None = None,
                  python: str | None = None) -> list[str]:
    """argv for this machine; `events`: the GUI's channel address (event_channel.py)."""
    python = python or sys.executable
    tail = ["-m", "workbench.cli", "train", project_file]
    if events:
        tail += ["--events", events]
    if not launch.distributed:
        return [python, *tail]
    return [python, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={launch.processes}", *tail]


def shown_commands(project_file: str, launch: Launch, *, nodes: int = 2, endpoint: str = "HOST:29500",
                   job: str = "workbench") -> dict[str, str]:
    """{"this machine": ..., "several machines": ...}: shell lines (quoted) to copy."""
    quoted = shlex.quote(project_file)
    per_node = launch.processes
    local = (f"workbench train {quoted}" if not launch.distributed else
             f"torchrun --standalone --nproc_per_node={per_node} -m workbench.cli train {quoted}")
    several = (f"torchrun --nnodes={nodes} --nproc_per_node={per_node} --rdzv-backend=c10d "
               f"--rdzv-endpoint={endpoint} --rdzv-id={shlex.quote(job)} -m workbench.cli train {quoted}")
    return {"this machine": local, "several machines": several}
