"""The model an export starts from: the compiled graph with its weights, in eval mode.

Weights come from a file (`--weights`: a run folder, a checkpoint or a state dict) or,
without one, from initialising the layers under the project's `training.seed` — inside
a forked RNG, so two exports of one project carry identical weights and the caller's
random state is untouched.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.fx as fx

from workbench.core.compile import CompileError, ModelPlan, compile_graph, plan_model
from workbench.core.graph import Graph
from workbench.core.project import Project
from workbench.core.shapes import InferenceResult, infer_shapes
from workbench.core.tensors import TensorInfo
from workbench.data.facts import project_graph
from workbench.export.errors import ExportError
from workbench.export.preflight import check_memory
from workbench.export.report import ExportReport, TensorSpec
from workbench.export.verify import EXPORT_BATCH, STATIC_BATCH, model_inputs, verification_batches
from workbench.export.weights import WeightsError, apply_state_dict, load_weights

__all__ = ["BuiltModel", "build_model"]


@dataclass
class BuiltModel:
    project_name: str
    graph: Graph
    result: InferenceResult
    plan: ModelPlan
    module: fx.GraphModule  # eval mode
    seed: int
    weights: str  # where the weights came from, in words
    embedded: dict = field(default_factory=dict)  # the project and weights' origin the artifact carries

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.module.input_names)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(self.module.output_names)

    @property
    def node_types(self) -> dict[str, str]:
        return {n.id: n.type for n in self.graph}

    def input_infos(self) -> list[TensorInfo]:
        return [self.result.outputs[name][0] for name in self.input_names]

    def output_infos(self) -> list[TensorInfo]:
        return [self.result.outputs[node][port] for node, port in self.plan.outputs]

    def example(self, dynamic_batch: bool) -> tuple[torch.Tensor, ...]:
        """The inputs an exporter traces with."""
        batch = EXPORT_BATCH if dynamic_batch else STATIC_BATCH
        return model_inputs(self.graph, self.result, self.input_names, batch)

    def batches(self, dynamic_batch: bool) -> list[tuple[torch.Tensor, ...]]:
        return verification_batches(self.graph, self.result, self.input_names, dynamic_batch)

    def blank_copy(self) -> fx.GraphModule:
        """The same module with every parameter and buffer zeroed (to prove a state dict
        really restores the weights). A copy, not a rebuild: a backbone would otherwise
        reload its ImageNet weights from disk."""
        blank = copy.deepcopy(self.module)
        with torch.no_grad():
            for tensor in blank.state_dict().values():
                tensor.zero_()
        return blank.eval()

    def new_report(self, fmt: str, path: Path, dynamic_batch: bool) -> ExportReport:
        def specs(names, infos):
            lead = ["batch"] if dynamic_batch else [STATIC_BATCH]
            return [TensorSpec(n, [*lead, *i.shape], i.dtype) for n, i in zip(names, infos)]

        return ExportReport(
            format=fmt,
            path=str(path),
            project=self.project_name,
            inputs=specs(self.input_names, self.input_infos()),
            outputs=specs(self.output_names, self.output_infos()),
            dynamic_batch=dynamic_batch,
            weights=self.weights,
        )


def build_model(project: Project, weights: str | os.PathLike | None = None) -> BuiltModel:
    """Compile the project's graph and give it its weights. Raises ExportError."""
    seed = project.training.get("seed", 0) if isinstance(project.training, dict) else 0
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ExportError(f"training.seed must be a whole number, got {seed!r}")
    loaded = None
    if weights is not None:  # read the file first: a bad file is reported before compiling
        try:
            loaded = load_weights(weights)
        except WeightsError as exc:
            raise ExportError(str(exc)) from None
    graph = project_graph(project, weights=weights)  # sizes from the data (or the run's tokenizer)
    result = infer_shapes(graph)
    if result.ok:
        check_memory(graph, result)  # before anything is allocated
    try:
        plan = plan_model(graph, result)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = compile_graph(graph, project.name, result)
    except CompileError as exc:
        raise ExportError(exc.reason, node_id=exc.node_id) from None
    except Exception as exc:  # a layer that fails to build (a plugin): still the user's model
        raise ExportError(f"the model could not be built: {type(exc).__name__}: {exc}") from None
    description = f"initialised from training.seed {seed}"
    if loaded is not None:
        try:
            apply_state_dict(module, loaded)
        except WeightsError as exc:
            raise ExportError(str(exc)) from None
        description = f"loaded from {loaded.describe()}"
    module.eval()
    from workbench.export.embedded_project import embedded_texts, weights_origin

    origin = weights_origin(loaded.path if loaded else None, loaded.epoch if loaded else None, seed)
    return BuiltModel(project.name, graph, result, plan, module, seed, description, embedded_texts(project, origin))

