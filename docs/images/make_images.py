"""Remakes the pictures in docs/images/ through the real kernel: a small network trained on
the offline data set's sneakers vs ankle boots (work-data/lesson2, which
`bash scripts/run-main.sh` makes and splits), then every picture the results commands
draw, saved as the PNG the notebook receives.

    DEEPNB_BUILD=build /usr/bin/python3 docs/images/make_images.py [DATA]

About a minute on two cores; the same build and data give the same bytes.
"""
import base64
import os
import pathlib
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
os.environ.setdefault("DEEPNB_BUILD", str(REPO / "build"))
sys.path.insert(0, str(REPO / "tests" / "lang"))
import conftest  # noqa: E402  (starts the kernel as the language tests do)

OUT = pathlib.Path(__file__).resolve().parent
DATA = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "work-data" / "lesson2").resolve()

CELLS = [
    ("%seed 42\n"
     "%batches batches train size=28 color=grayscale preprocess=scale batch_size=64\n"
     "%batches val_batches valid size=28 color=grayscale preprocess=scale batch_size=64 shuffle=False", None),
    ("%%model m\nFlatten(input_shape=(28, 28, 1))\nDense(64, activation='relu')\n"
     "Dense(2, activation='softmax')", None),
    ("%compile m optimizer=Adam(lr=0.001) loss=categorical_crossentropy metrics=accuracy", None),
    ("%fit m batches val_batches epochs=2 verbose=0", None),
    ("%fit m batches val_batches epochs=2 verbose=0", None),
    ("%predict m val_batches as=val_preds", None),
    ("%plots batches", "plots_batches.png"),
    ("%plots val_preds correct", "plots_correct.png"),
    ("%plots val_preds incorrect", "plots_incorrect.png"),
    ("%plots val_preds most_correct sneaker", "plots_most_correct.png"),
    ("%plots val_preds most_incorrect boot", "plots_most_incorrect.png"),
    ("%plots val_preds uncertain", "plots_uncertain.png"),
    ("%top_losses val_preds", "top_losses.png"),
    ("%confusion_matrix val_preds", "confusion_matrix.png"),
    ("%confusion_matrix val_preds normalize=True", "confusion_matrix_normalized.png"),
    ("%plot_history m", "plot_history.png"),
    ("%logloss val_preds", None),
]


def main():
    if not (DATA / "valid").is_dir():
        sys.exit(f"{DATA}/valid is missing: run `bash scripts/run-main.sh` first (it makes and "
                 "splits work-data/lesson2), or give the folder of a split data set")
    kernel = conftest.start_kernel(pathlib.Path(tempfile.mkdtemp(prefix="deepnb-images-")), DATA)
    try:
        for code, name in CELLS:
            cell = kernel.ok(code, timeout=600)
            if name is None:
                if cell.result:
                    print(cell.result)
                continue
            pics = [d for d in cell.displays if "image/png" in d["data"]]
            assert len(pics) == 1, cell
            (OUT / name).write_bytes(base64.b64decode(pics[0]["data"]["image/png"]))
            md = pics[0]["metadata"]["image/png"]
            print(f"{name}: {md['width']}x{md['height']}")
            print("   " + pics[0]["data"]["text/plain"].replace("\n", "\n   "))
    finally:
        conftest.stop_kernel(kernel)


if __name__ == "__main__":
    main()
