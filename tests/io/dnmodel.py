"""ctypes view of a runtime model's weight files (io/model_weights.h) for the Python tests:
tests/runtime's dnrt (the whole runtime as libdn_runtime_shim.so) plus save, load,
layer names and inference."""
import ctypes as C
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "runtime"))

import dnrt  # noqa: E402
from dnrt import ACT, LIB, PAD, fptr  # noqa: E402,F401

E = [C.c_char_p, C.c_size_t]
for name, res, args in [
    ("dn_model_save_weights", C.c_int, [C.c_void_p, C.c_char_p] + E),
    ("dn_model_load_weights", C.c_int, [C.c_void_p, C.c_char_p, C.c_int] + E),
    ("dn_model_infer", C.POINTER(C.c_float), [C.c_void_p, C.POINTER(C.c_float), C.c_int] + E),
    ("dn_layer_set_name", C.c_int, [C.c_void_p, C.c_char_p] + E),
    ("dn_layer_name", C.c_char_p, [C.c_void_p]),
]:
    f = getattr(LIB, name)
    f.restype = res
    f.argtypes = args


class WeightsError(Exception):
    """dn_model_save_weights or dn_model_load_weights returned -1; the message is err."""


class Model(dnrt.Model):
    def add_named(self, name, kind, *args):
        """add a layer, named as a user names it (Keras' name=) when name is given"""
        layer = getattr(LIB, "dn_" + kind + "_new")(*args, self.err, 512)
        if not layer:
            raise RuntimeError(self.err.value.decode())
        if name:
            self.check(LIB.dn_layer_set_name(layer, name.encode(), self.err, 512))
        self.check(LIB.dn_model_add(self.m, layer, self.err, 512))
        return self

    def names(self):
        return [LIB.dn_layer_name(self.layer(i)).decode()
                for i in range(LIB.dn_model_nlayers(self.m))]

    def predict(self, x):
        """inference outputs, (n, output size), copied out of the model's buffer"""
        x = dnrt.np.ascontiguousarray(x, dtype=dnrt.np.float32)
        n = x.shape[0]
        y = LIB.dn_model_infer(self.m, fptr(x), n, self.err, 512)
        if not y:
            raise RuntimeError(self.err.value.decode())
        k = LIB.dn_model_output_size(self.m)
        return dnrt.np.ctypeslib.as_array(y, shape=(n * k,)).copy().reshape(n, k)

    def save_weights(self, path):
        err = C.create_string_buffer(1024)
        if LIB.dn_model_save_weights(self.m, str(path).encode(), err, len(err)) != 0:
            raise WeightsError(err.value.decode())

    def load_weights(self, path, by_name=False):
        err = C.create_string_buffer(1024)
        if LIB.dn_model_load_weights(self.m, str(path).encode(), int(by_name), err,
                                     len(err)) != 0:
            raise WeightsError(err.value.decode())
