"""Weight files written by real Keras, for deepnb's tests, and the check that deepnb's
own files load in real Keras.

Run with the throwaway venv (tests/keras/setup-venv.sh makes it; not part of CI):

  .venv-keras/bin/python tests/keras/make_fixtures.py [make]
      builds each model below in tf_keras (the Keras 2 API, `save_weights('x.h5')`) and in
      Keras 3 (`save_weights('x.weights.h5')`), trains it a few steps on random data (so
      that weights and BatchNormalization's moving statistics are not their initial
      values) and writes tests/keras/fixtures/<model>_<keras2|keras3>/:
        model.txt        the model, one Keras layer call a line, as typed in a %%model cell
        model.h5 / model.weights.h5   the weight file Keras wrote
        x.npy            a few inputs (float32); y.npy: model.predict(x) (inference mode)
      plus fixtures/index.json (every fixture: files, Keras' layer names, input shape)
      and fixtures/VERSIONS.txt.

  .venv-keras/bin/python tests/keras/make_fixtures.py check DEFINITION WEIGHTS X.npy Y.npy
          [--compiled] [--api keras2|keras3] [--tol 1e-5]
      builds the model of DEFINITION (a model.txt) in real Keras -- Keras 3 for a
      `.weights.h5`, else tf_keras --, loads WEIGHTS (a file deepnb wrote), predicts X and
      compares with Y (deepnb's outputs). --compiled: compile and train one step before
      loading, as a user's model would be. Prints PASS or FAIL with the largest difference;
      exit status 0 on PASS.

  .venv-keras/bin/python tests/keras/make_fixtures.py check-all DIR [--compiled] [--both]
      the same for every entry of DIR/index.json (what tests/keras/deepnb_export.py writes);
      --both: every file in tf_keras and in Keras 3 (each also reads the other's layout).
"""
import argparse
import json
import logging
import os
import pathlib
import platform
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

logging.getLogger("tensorflow").setLevel(logging.ERROR)   # retracing notes, not results

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
TOL = 1e-5

# The models, as a user types them in a %%model cell: one Keras layer call a line.
MODELS = {
    "cnn": {
        "lines": [
            "Conv2D(4, (3,3), activation='relu', padding='same', input_shape=(12, 12, 1))",
            "BatchNormalization()",
            "MaxPooling2D((2,2))",
            "Conv2D(6, (3,3), activation='relu')",
            "Flatten()",
            "Dropout(0.5)",
            "Dense(5, activation='softmax')",
        ],
        "loss": "categorical_crossentropy",
        "seed": 11,
    },
    "dense": {
        "lines": [
            "Dense(16, activation='relu', input_shape=(10,))",
            "Dense(8, activation='tanh')",
            "Dense(3, activation='sigmoid')",
        ],
        "loss": "binary_crossentropy",
        "seed": 12,
    },
    # The Dense stack with names a user gave: Keras 3 keeps them only as attributes.
    "dense_named": {
        "lines": [
            "Dense(16, activation='relu', input_shape=(10,), name='hidden')",
            "Dense(8, activation='tanh', name='bottleneck')",
            "Dense(3, activation='sigmoid', name='scores')",
        ],
        "loss": "binary_crossentropy",
        "seed": 13,
    },
}


def keras_module(flavor):
    """(keras package, its layers module) for 'keras2' (tf_keras) or 'keras3'"""
    if flavor == "keras3":
        import keras
        return keras, keras.layers
    import tf_keras
    return tf_keras, tf_keras.layers


def build(flavor, lines):
    """A Sequential model of the definition's lines, evaluated as Python calls on the
    Keras layers module and nothing else."""
    keras, layers = keras_module(flavor)
    keras.backend.clear_session()   # fresh layer names: conv2d, conv2d_1, dense, ...
    ns = {name: getattr(layers, name) for name in dir(layers) if not name.startswith("_")}
    with warnings.catch_warnings():
        # Keras 3 prefers Input(shape) to input_shape=; deepnb's cells take both.
        warnings.filterwarnings("ignore", message=".*input_shape.*")
        calls = [eval(line, {"__builtins__": {}}, ns) for line in lines]
        return keras.Sequential(calls, name="sequential")


def read_definition(path):
    return [ln.strip() for ln in pathlib.Path(path).read_text().splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def targets(loss, n, k, rng):
    if loss == "categorical_crossentropy":
        return np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]
    return (rng.random((n, k)) < 0.5).astype(np.float32)


def make_one(flavor, name, spec):
    keras, _ = keras_module(flavor)
    keras.utils.set_random_seed(spec["seed"])
    model = build(flavor, spec["lines"])
    in_shape = tuple(model.input_shape[1:])
    k = model.output_shape[-1]
    rng = np.random.default_rng(spec["seed"])
    x_train = rng.standard_normal((64,) + in_shape).astype(np.float32)
    y_train = targets(spec["loss"], 64, k, rng)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=spec["loss"])
    model.fit(x_train, y_train, batch_size=16, epochs=10, verbose=0, shuffle=False)

    out = FIXTURES / f"{name}_{flavor}"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    wfile = "model.weights.h5" if flavor == "keras3" else "model.h5"
    model.save_weights(str(out / wfile))
    (out / "model.txt").write_text("\n".join(spec["lines"]) + "\n")
    x = rng.standard_normal((6,) + in_shape).astype(np.float32)
    y = model.predict(x, verbose=0).astype(np.float32)
    np.save(out / "x.npy", x)
    np.save(out / "y.npy", y)

    # The weights moved away from their initial values, BatchNormalization's too.
    for layer in model.layers:
        for v in layer.weights:
            val = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
            vname = v.path if hasattr(v, "path") else v.name
            if "moving_mean" in vname:
                assert np.abs(val).max() > 1e-3, (name, vname)
            if "moving_variance" in vname:
                assert np.abs(val - 1).max() > 1e-3, (name, vname)
    return {
        "name": f"{name}_{flavor}",
        "model": name,
        "keras": flavor,
        "api": "keras" if flavor == "keras3" else "tf_keras",
        "definition": f"{name}_{flavor}/model.txt",
        "lines": spec["lines"],
        "weights": f"{name}_{flavor}/{wfile}",
        "x": f"{name}_{flavor}/x.npy",
        "y": f"{name}_{flavor}/y.npy",
        "input_shape": list(in_shape),
        "keras_layer_names": [layer.name for layer in model.layers],
        "keras_layer_classes": [type(layer).__name__ for layer in model.layers],
        "tolerance": TOL,
    }


def versions():
    import h5py
    import tensorflow as tf
    import keras
    import tf_keras
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf_keras": tf_keras.__version__,
        "h5py": h5py.__version__,
        "numpy": np.__version__,
        "hdf5": h5py.version.hdf5_version,
    }


def cmd_make(_args):
    FIXTURES.mkdir(exist_ok=True)
    entries = []
    for flavor in ("keras2", "keras3"):
        for name, spec in MODELS.items():
            entries.append(make_one(flavor, name, spec))
            print(f"made {entries[-1]['weights']}")
    ver = versions()
    (FIXTURES / "index.json").write_text(json.dumps(
        {"versions": ver, "fixtures": entries}, indent=1) + "\n")
    (FIXTURES / "VERSIONS.txt").write_text(
        "Made by tests/keras/make_fixtures.py with:\n" +
        "".join(f"  {k} {v}\n" for k, v in ver.items()) +
        "Keras 2 files: tf_keras' model.save_weights('model.h5'); Keras 3 files: keras'\n"
        "model.save_weights('model.weights.h5'), both after compile (Adam) and 10 epochs of\n"
        "4 batches of random data; y.npy is model.predict(x.npy).\n")
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    print(f"{len(entries)} fixtures, {total // 1024} KiB in {FIXTURES}")


def check(definition, weights, x_path, y_path, compiled=False, tol=TOL, flavor=None):
    """(ok, max abs difference, message): WEIGHTS loaded into the definition's model in
    real Keras predicts Y for X. flavor: 'keras3' or 'keras2' (tf_keras); by default the
    one that writes WEIGHTS' layout (Keras 3 for a .weights.h5)."""
    try:
        return _check(definition, weights, x_path, y_path, compiled, tol, flavor)
    except Exception as e:  # noqa: BLE001 -- a verdict for every file, not a traceback
        return False, None, f"FAIL: {weights}: {type(e).__name__}: {e}"


def _check(definition, weights, x_path, y_path, compiled, tol, flavor):
    weights = str(weights)
    if flavor is None:
        flavor = "keras3" if weights.endswith(".weights.h5") else "keras2"
    keras, _ = keras_module(flavor)
    lines = read_definition(definition)
    model = build(flavor, lines)
    x = np.load(x_path)
    y = np.load(y_path)
    if compiled:
        k = model.output_shape[-1]
        rng = np.random.default_rng(0)
        model.compile(optimizer="adam", loss="mse")
        model.train_on_batch(rng.standard_normal((4,) + x.shape[1:]).astype(np.float32),
                             rng.random((4, k)).astype(np.float32))
    # A fresh model must predict otherwise, or a load that did nothing would pass.
    before = model.predict(x, verbose=0)
    if before.shape == y.shape and np.max(np.abs(before - y)) <= tol:
        return False, None, f"FAIL: {definition}'s fresh model already predicts Y: no proof"
    which = f"Keras {keras.__version__}" + (" (tf_keras)" if flavor == "keras2" else "")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(weights)
        except Exception as e:  # noqa: BLE001 -- Keras' refusal is the verdict
            return False, None, f"FAIL {which}: {weights} does not load: {type(e).__name__}: {e}"
    got = model.predict(x, verbose=0)
    diff = float(np.max(np.abs(got.astype(np.float64) - y))) if got.shape == y.shape else None
    notes = "".join(f"\n  warning: {w.message}" for w in caught)
    if diff is None:
        return False, None, f"FAIL {which}: output shape {got.shape}, expected {y.shape}{notes}"
    verdict = "PASS" if diff <= tol else "FAIL"
    return diff <= tol, diff, (f"{verdict} {which}{' compiled' if compiled else ''}: "
                               f"{weights} -> max |keras - deepnb| = {diff:.3g} "
                               f"(tolerance {tol:g}) over {y.size} outputs{notes}")


def cmd_check(args):
    ok, _, msg = check(args.definition, args.weights, args.x, args.y, args.compiled, args.tol,
                       args.api)
    print(msg)
    return 0 if ok else 1


def cmd_check_all(args):
    d = pathlib.Path(args.dir)
    index = json.loads((d / "index.json").read_text())
    worst, failed, n = 0.0, 0, 0
    for e in index["entries"]:
        # --both: each file in tf_keras and in Keras 3 (each reads the other's layout too)
        for flavor in (("keras2", "keras3") if args.both else (None,)):
            if flavor == "keras2" and args.compiled and e["weights"].endswith(".weights.h5"):
                # tf_keras' own limit, not the file's: a compiled and trained tf_keras model
                # wants its loss tracker's state from a .weights.h5, which no file of an
                # uncompiled model has -- tf_keras' own included.
                print(f"skip tf_keras compiled: {d / e['weights']} (tf_keras loads no "
                      ".weights.h5 without its loss state into a trained model)")
                continue
            ok, diff, msg = check(d / e["definition"], d / e["weights"], d / e["x"], d / e["y"],
                                  args.compiled, args.tol, flavor)
            print(msg)
            n += 1
            failed += not ok
            worst = max(worst, diff if diff is not None else float("inf"))
    print(f"{'PASS' if not failed else 'FAIL'}: {n - failed} of {n} checks: deepnb-written "
          f"files load in real Keras and predict deepnb's outputs; largest difference "
          f"{worst:.3g}")
    return 0 if not failed else 1


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("make", help="write tests/keras/fixtures")
    c = sub.add_parser("check", help="load a deepnb-written file in real Keras")
    c.add_argument("definition")
    c.add_argument("weights")
    c.add_argument("x")
    c.add_argument("y")
    c.add_argument("--compiled", action="store_true")
    c.add_argument("--tol", type=float, default=TOL)
    c.add_argument("--api", choices=("keras2", "keras3"),
                   help="load with tf_keras or Keras 3 (default: the one of the file's layout)")
    a = sub.add_parser("check-all", help="check every file of a deepnb_export.py folder")
    a.add_argument("dir")
    a.add_argument("--compiled", action="store_true")
    a.add_argument("--both", action="store_true", help="each file in tf_keras and in Keras 3")
    a.add_argument("--tol", type=float, default=TOL)
    args = p.parse_args(argv)
    if args.cmd in (None, "make"):
        cmd_make(args)
        return 0
    if args.cmd == "check":
        return cmd_check(args)
    return cmd_check_all(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
