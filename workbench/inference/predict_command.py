"""`workbench predict`: the trained model's answer for each of the user's inputs.

Per input: the top-k classes with probabilities, the predicted value(s), or the decoded
sequence; `--json` prints one JSON object per input line. What ran (weights, exported
file, rebuilt preprocessing) is said on stderr, so stdout holds only the answers.
"""

from __future__ import annotations

import json
import sys

from workbench.inference.predict import PredictError, Prediction, Predictor, read_texts

__all__ = ["run_predict", "ERRORS"]

ERRORS = (PredictError,)


def run_predict(project, args, out=None, err=None) -> None:
    """Raises PredictError for the CLI to print as one error line."""
    out, err = out or sys.stdout, err or sys.stderr
    kinds = [(kind, path) for kind, path in (("onnx", args.onnx), ("pt2", args.pt2), ("torchscript", args.torchscript))
             if path is not None]
    if len(kinds) > 1:
        raise PredictError("give at most one of --onnx, --pt2 and --torchscript")
    kind, artifact = kinds[0] if kinds else (None, None)
    predictor = Predictor.open(project, args.weights, artifact, kind)
    predictor.top_k = args.top_k
    if predictor.note:
        print(f"note: {predictor.note}", file=err)
    if predictor.is_seq2seq:
        texts = [(source, text) for path in args.inputs for source, text in read_texts(path)]
        predictions = [predictor.decode(text, beam=args.beam, max_len=args.max_len, source=source)
                       for source, text in texts]
    else:
        predictions = predictor.predict_files(args.inputs)
    for prediction in predictions:
        out.write((json.dumps(prediction.to_json()) if args.json else _line(prediction)) + "\n")
    print(f"{len(predictions)} prediction(s), {predictor.artifact_description or predictor.weights_description}", file=err)


def _line(p: Prediction) -> str:
    if p.kind == "classes":
        return f"{p.source}: " + ", ".join(f"{name} {prob:.3f}" for name, prob in p.top)
    if p.kind == "values":
        shown = ", ".join(f"{v:.6g}" for v in p.values[:20])
        more = f", ... ({len(p.values)} values)" if len(p.values) > 20 else ""
        return f"{p.source}: {shown}{more}"
    return f"{p.source}: {p.text}"
