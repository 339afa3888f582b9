"""ctypes view of the runtime (libdn_runtime_shim.so in $DEEPNB_BUILD/tests/runtime)."""
import ctypes as C
import os
import pathlib

import numpy as np

BUILD = pathlib.Path(os.environ.get("DEEPNB_BUILD",
                                    pathlib.Path(__file__).resolve().parents[2] / "build"))
LIB = C.CDLL(str(BUILD / "tests" / "runtime" / "libdn_runtime_shim.so"))

ACT = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "softmax": 4}
PAD = {"valid": 0, "same": 1}
LOSS = {"mse": 0, "binary_crossentropy": 1, "categorical_crossentropy": 2}
OPT = {"SGD": 0, "RMSprop": 1, "Adam": 2}


class Param(C.Structure):
    _fields_ = [("name", C.c_char * 32), ("ndim", C.c_int), ("shape", C.c_int * 4),
                ("size", C.c_long), ("data", C.POINTER(C.c_float)),
                ("grad", C.POINTER(C.c_float)), ("slot", C.POINTER(C.c_float) * 2)]


class Optimizer(C.Structure):
    _fields_ = [("kind", C.c_int), ("lr", C.c_float), ("momentum", C.c_float),
                ("nesterov", C.c_int), ("rho", C.c_float), ("beta1", C.c_float),
                ("beta2", C.c_float), ("epsilon", C.c_float), ("iterations", C.c_long)]


class Metrics(C.Structure):
    _fields_ = [("loss", C.c_double), ("acc", C.c_double), ("has_acc", C.c_int),
                ("n", C.c_long)]


P = C.c_void_p
FP = C.POINTER(C.c_float)
E = [C.c_char_p, C.c_size_t]
for name, res, args in [
    ("dn_model_new", P, [C.c_uint64] + E),
    ("dn_model_free", None, [P]),
    ("dn_model_set_input", C.c_int, [P, C.c_int, C.POINTER(C.c_int)] + E),
    ("dn_model_add", C.c_int, [P, P] + E),
    ("dn_model_layer", P, [P, C.c_int]),
    ("dn_model_nlayers", C.c_int, [P]),
    ("dn_model_output_size", C.c_long, [P]),
    ("dn_model_input_size", C.c_long, [P]),
    ("dn_model_forward", FP, [P, FP, C.c_int, C.c_int] + E),
    ("dn_model_backward", C.c_int, [P, FP, C.c_int, FP] + E),
    ("dn_model_compile", C.c_int, [P, C.POINTER(Optimizer), C.c_int, C.c_int] + E),
    ("dn_model_train_on_batch", C.c_int, [P, FP, FP, C.c_int, C.POINTER(Metrics)] + E),
    ("dn_optimizer_defaults", None, [C.POINTER(Optimizer), C.c_int]),
    ("dn_dense_new", P, [C.c_int, C.c_int, C.c_int] + E),
    ("dn_conv2d_new", P, [C.c_int] * 6 + [C.c_int, C.c_int] + E),
    ("dn_maxpool2d_new", P, [C.c_int] * 5 + E),
    ("dn_flatten_new", P, E),
    ("dn_dropout_new", P, [C.c_float] + E),
    ("dn_batchnorm_new", P, [C.c_float, C.c_float] + E),
    ("dn_activation_layer_new", P, [C.c_int] + E),
    ("dn_layer_nparams", C.c_int, [P]),
    ("dn_layer_param", C.POINTER(Param), [P, C.c_int]),
    ("dn_loss_eval", C.c_double, [C.c_int, FP, FP, C.c_long, C.c_long, C.c_int, FP]),
]:
    f = getattr(LIB, name)
    f.restype = res
    f.argtypes = args


def fptr(a):
    assert a.dtype == np.float32 and a.flags["C_CONTIGUOUS"]
    return a.ctypes.data_as(FP)


class Model:
    def __init__(self, input_shape, seed=1):
        self.err = C.create_string_buffer(512)
        self.m = LIB.dn_model_new(seed, self.err, 512)
        shape = (C.c_int * 3)(*input_shape)
        self.check(LIB.dn_model_set_input(self.m, len(input_shape), shape, self.err, 512))
        self.in_shape = tuple(input_shape)

    def __del__(self):
        if getattr(self, "m", None):
            LIB.dn_model_free(self.m)

    def check(self, rc):
        if rc != 0:
            raise RuntimeError(self.err.value.decode())

    def add(self, kind, *args):
        layer = getattr(LIB, "dn_" + kind + "_new")(*args, self.err, 512)
        if not layer:
            raise RuntimeError(self.err.value.decode())
        self.check(LIB.dn_model_add(self.m, layer, self.err, 512))
        return self

    def layer(self, i):
        return LIB.dn_model_layer(self.m, i)

    def params(self, i):
        """{name: (data view, grad view or None)} of layer i, numpy views of the C buffers"""
        out = {}
        layer = self.layer(i)
        for j in range(LIB.dn_layer_nparams(layer)):
            p = LIB.dn_layer_param(layer, j).contents
            shape = tuple(p.shape[:p.ndim])
            data = np.ctypeslib.as_array(p.data, shape=shape)
            grad = np.ctypeslib.as_array(p.grad, shape=shape) if p.grad else None
            out[p.name.decode()] = (data, grad)
        return out

    def forward(self, x, training=True):
        x = np.ascontiguousarray(x, dtype=np.float32)
        self._x = x  # backward reads the last forward's input
        n = x.shape[0]
        y = LIB.dn_model_forward(self.m, fptr(x), n, int(training), self.err, 512)
        if not y:
            raise RuntimeError(self.err.value.decode())
        k = LIB.dn_model_output_size(self.m)
        return np.ctypeslib.as_array(y, shape=(n * k,)).copy()

    def backward(self, dy):
        dy = np.ascontiguousarray(dy, dtype=np.float32).reshape(-1)
        n = self._x.shape[0]
        dx = np.zeros(self._x.shape, np.float32)
        self.check(LIB.dn_model_backward(self.m, fptr(dy), n, fptr(dx), self.err, 512))
        return dx

    def compile(self, opt, loss, **kw):
        o = Optimizer()
        LIB.dn_optimizer_defaults(C.byref(o), OPT[opt])
        for k, v in kw.items():
            setattr(o, k, v)
        self.check(LIB.dn_model_compile(self.m, C.byref(o), LOSS[loss], 1, self.err, 512))

    def train_on_batch(self, x, y):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float32)
        met = Metrics()
        self.check(LIB.dn_model_train_on_batch(self.m, fptr(x), fptr(y), x.shape[0],
                                               C.byref(met), self.err, 512))
        return met.loss, met.acc
