"""deepnb's side of the proof that its weight files load in real Keras: for every fixture
of tests/keras/fixtures, builds the model of its model.txt in the runtime (the names the
runtime gives, as a %%model cell would), loads the real-Keras weight file, predicts x.npy,
and saves the weights again in both layouts (Keras 2 `.h5`, Keras 3 `.weights.h5`) with the
runtime's outputs, into OUT with an index.json for `make_fixtures.py check-all OUT`.

  /usr/bin/python3 tests/keras/deepnb_export.py OUT      (needs the build: ninja -C build)

Prints the largest difference between the runtime's outputs and the fixture's y.npy
(Keras' outputs) for each fixture."""
import json
import pathlib
import shutil
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "io"))
import keras_defs  # noqa: E402


def main(out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries, worst = [], 0.0
    for fx in keras_defs.fixtures():
        lines = keras_defs.read_lines(fx["definition"])
        m = keras_defs.build(lines, seed=99)
        m.load_weights(fx["weights"])
        x = np.load(fx["x"])
        y = m.predict(x).reshape(np.load(fx["y"]).shape)
        diff = float(np.max(np.abs(y.astype(np.float64) - np.load(fx["y"]))))
        worst = max(worst, diff)
        print(f"deepnb loads {fx['weights'].relative_to(keras_defs.FIXTURES)}: "
              f"max |deepnb - keras| = {diff:.3g}")
        d = out / fx["name"]
        d.mkdir(exist_ok=True)
        shutil.copy(fx["definition"], d / "model.txt")
        np.save(d / "x.npy", x)
        np.save(d / "y_deepnb.npy", y)
        for wfile in ("deepnb.h5", "deepnb.weights.h5"):
            m.save_weights(d / wfile)
            entries.append({"definition": f"{fx['name']}/model.txt",
                            "weights": f"{fx['name']}/{wfile}",
                            "x": f"{fx['name']}/x.npy", "y": f"{fx['name']}/y_deepnb.npy",
                            "from": str(fx["weights"].relative_to(keras_defs.FIXTURES))})
    (out / "index.json").write_text(json.dumps({"entries": entries}, indent=1) + "\n")
    print(f"{len(entries)} files written by deepnb into {out}; largest difference from "
          f"Keras' outputs when loading the fixtures: {worst:.3g}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
