"""Models of tests/keras/fixtures built in the runtime (through dnmodel): a fixture's
model.txt holds one Keras layer call a line, as typed in a %%model cell
(`Conv2D(4, (3,3), activation='relu', padding='same', input_shape=(12, 12, 1))`); here
each line is read as a Python call of Keras' arguments and defaults (the few layers the
fixtures use) and becomes the runtime layer it describes."""
import json
import pathlib

import dnmodel
from dnmodel import ACT, PAD

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "keras" / "fixtures"


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _act(a):
    return ACT["linear" if a is None else a]


# Keras' signatures (arguments by position, then keywords with Keras' defaults) ->
# (runtime constructor, its arguments)
def Conv2D(filters, kernel_size, strides=(1, 1), padding="valid", activation=None,
           use_bias=True, **kw):
    kh, kw_ = _pair(kernel_size)
    sh, sw = _pair(strides)
    return kw, ("conv2d", filters, kh, kw_, sh, sw, PAD[padding], _act(activation), int(use_bias))


def Dense(units, activation=None, use_bias=True, **kw):
    return kw, ("dense", units, _act(activation), int(use_bias))


def MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid", **kw):
    ph, pw = _pair(pool_size)
    sh, sw = _pair(strides) if strides is not None else (0, 0)
    return kw, ("maxpool2d", ph, pw, sh, sw, PAD[padding])


def Flatten(**kw):
    return kw, ("flatten",)


def Dropout(rate, **kw):
    return kw, ("dropout", float(rate))


def BatchNormalization(momentum=0.99, epsilon=1e-3, **kw):
    return kw, ("batchnorm", float(momentum), float(epsilon))


def Activation(activation, **kw):
    return kw, ("activation_layer", _act(activation))


CALLS = {f.__name__: f for f in (Conv2D, Dense, MaxPooling2D, Flatten, Dropout,
                                 BatchNormalization, Activation)}


def parse(lines):
    """(input shape, [(name or None, runtime args), ...]) of a definition's lines"""
    shape, layers = None, []
    for line in lines:
        kw, args = eval(line, {"__builtins__": {}}, CALLS)
        if "input_shape" in kw:
            shape = tuple(kw.pop("input_shape"))
        if "input_dim" in kw:
            shape = (kw.pop("input_dim"),)
        name = kw.pop("name", None)
        if kw:
            raise ValueError(f"{line}: arguments this helper does not know: {sorted(kw)}")
        layers.append((name, args))
    if shape is None:
        raise ValueError("no input_shape in the definition's first line")
    return shape, layers


def read_lines(path):
    return [ln.strip() for ln in pathlib.Path(path).read_text().splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def build(lines, seed=1, names=None):
    """A runtime model of the definition; names: every layer's name (e.g. Keras' own),
    else the names the definition gives and the runtime's own for the rest."""
    shape, layers = parse(lines)
    m = dnmodel.Model(shape, seed)
    for i, (name, args) in enumerate(layers):
        m.add_named(names[i] if names else name, *args)
    return m


def fixtures():
    """index.json's entries, paths made absolute"""
    index = json.loads((FIXTURES / "index.json").read_text())
    out = []
    for e in index["fixtures"]:
        e = dict(e)
        for k in ("definition", "weights", "x", "y"):
            e[k] = FIXTURES / e[k]
        out.append(e)
    return out
