"""`workbench generate`: stream a trained token model's continuation of a prompt to stdout."""

from __future__ import annotations

import sys
import time

from workbench.inference.generation import generate
from workbench.inference.opening import open_generator
from workbench.inference.sampling import Sampling, SamplingError
from workbench.inference.token_model import GenerationError

__all__ = ["run_generate"]


def run_generate(project, args, out=sys.stdout, err=sys.stderr) -> None:
    """Raises GenerationError / SamplingError for the CLI to print as one error line."""
    sampling = Sampling(args.temperature, args.top_k or None, args.top_p, args.seed)
    model, tokenizer = open_generator(project, args.weights, args.onnx)
    start = time.perf_counter()
    count = 0
    if args.echo:
        out.write(args.prompt)
    for piece in generate(model, tokenizer, args.prompt, args.max_new_tokens, sampling):
        out.write(piece.text)
        out.flush()
        count += 1
    elapsed = time.perf_counter() - start
    out.write("\n")
    rate = count / elapsed if elapsed > 0 else 0.0
    print(f"{count} tokens in {elapsed:.2f} s ({rate:.1f} tokens/s), {model.description}", file=err)


ERRORS = (GenerationError, SamplingError)
