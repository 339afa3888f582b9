"""ctypes bindings to runtime/io (weights.h, npy.h) through the build's libdnio_py.so,
for the Python tests that check the files against h5py and numpy."""
import ctypes
import os
import pathlib

import numpy as np

BUILD = pathlib.Path(os.environ.get(
    "DEEPNB_BUILD", pathlib.Path(__file__).resolve().parents[2] / "build"))
LIB_PATH = BUILD / "tests" / "io" / "libdnio_py.so"


class WArray(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 64), ("ndim", ctypes.c_int),
                ("shape", ctypes.c_int * 4), ("data", ctypes.POINTER(ctypes.c_float))]


class WLayer(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 128), ("class_name", ctypes.c_char * 32),
                ("narrays", ctypes.c_int), ("arrays", WArray * 4)]


class WInfoArray(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 128), ("ndim", ctypes.c_int),
                ("shape", ctypes.c_longlong * 8)]


class WInfoLayer(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 128), ("group", ctypes.c_char * 128),
                ("narrays", ctypes.c_int), ("arrays", ctypes.POINTER(WInfoArray))]


class WInfo(ctypes.Structure):
    _fields_ = [("layout", ctypes.c_int), ("keras_version", ctypes.c_char * 32),
                ("backend", ctypes.c_char * 32), ("model_name", ctypes.c_char * 128),
                ("whole_model", ctypes.c_int), ("has_optimizer", ctypes.c_int),
                ("nlayers", ctypes.c_int), ("layers", ctypes.POINTER(WInfoLayer))]


LAYOUTS = {1: "keras1", 2: "keras2", 3: "theano", 4: "keras3"}


def load_lib():
    lib = ctypes.CDLL(str(LIB_PATH))
    errbuf = [ctypes.c_char_p, ctypes.c_size_t]
    lib.dn_weights_save_h5.argtypes = [ctypes.c_char_p, ctypes.POINTER(WLayer), ctypes.c_int] + errbuf
    lib.dn_weights_load_h5.argtypes = [ctypes.c_char_p, ctypes.POINTER(WLayer), ctypes.c_int,
                                       ctypes.c_int] + errbuf
    lib.dn_weights_save_keras3.argtypes = [ctypes.c_char_p, ctypes.POINTER(WLayer),
                                           ctypes.c_int] + errbuf
    lib.dn_weights_probe.argtypes = [ctypes.c_char_p, ctypes.POINTER(WInfo)] + errbuf
    lib.dn_weights_info_free.argtypes = [ctypes.POINTER(WInfo)]
    lib.dn_weights_info_free.restype = None
    lib.dn_weights_describe.argtypes = [ctypes.POINTER(WInfo), ctypes.c_char_p, ctypes.c_size_t]
    lib.dn_weights_describe.restype = None
    lib.dn_npy_save_as.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                   ctypes.POINTER(ctypes.c_long)] + errbuf
    lib.dn_npy_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.POINTER(ctypes.c_float)),
                                ctypes.POINTER(ctypes.c_int), ctypes.c_long * 4] + errbuf
    lib.dn_npy_save_strings.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p),
                                        ctypes.c_long] + errbuf
    lib.dn_npy_load_strings.argtypes = [ctypes.c_char_p,
                                        ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p)),
                                        ctypes.POINTER(ctypes.c_long)] + errbuf
    lib.dn_npy_strings_free.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]
    return lib


class IOError_(Exception):
    """A runtime/io function returned -1; the message is its err text."""


class Model:
    """Layers as the core hands them to io: [(name, class, [(array, ndarray), ...]), ...].
    The float32 buffers stay here; after a load, .arrays[(layer, array)] holds the values."""

    def __init__(self, spec):
        self.layers = (WLayer * max(1, len(spec)))()
        self.n = len(spec)
        self.arrays = {}
        for i, (name, cls, arrays) in enumerate(spec):
            layer = self.layers[i]
            layer.name = name.encode()
            layer.class_name = cls.encode()
            layer.narrays = len(arrays)
            for k, (aname, value) in enumerate(arrays):
                buf = np.ascontiguousarray(value, dtype=np.float32).copy()
                self.arrays[(name, aname)] = buf
                wa = layer.arrays[k]
                wa.name = aname.encode()
                wa.ndim = buf.ndim
                for d, s in enumerate(buf.shape):
                    wa.shape[d] = s
                wa.data = buf.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def call(fn, *args):
    err = ctypes.create_string_buffer(1024)
    rc = fn(*args, err, len(err))
    if rc != 0:
        raise IOError_(err.value.decode())


def save_h5(lib, path, model):
    call(lib.dn_weights_save_h5, str(path).encode(), model.layers, model.n)


def load_h5(lib, path, model, by_name=False):
    call(lib.dn_weights_load_h5, str(path).encode(), model.layers, model.n, int(by_name))


def save_keras3(lib, path, model):
    call(lib.dn_weights_save_keras3, str(path).encode(), model.layers, model.n)


def probe(lib, path):
    """dn_weights_probe as a dict: layout ('keras1', 'keras2', 'theano', 'keras3'),
    keras_version, backend, model_name, whole_model, has_optimizer, describe (the line
    dn_weights_describe gives) and layers [(name, group, [(array, shape), ...]), ...]."""
    info = WInfo()
    call(lib.dn_weights_probe, str(path).encode(), ctypes.byref(info))
    try:
        text = ctypes.create_string_buffer(2048)
        lib.dn_weights_describe(ctypes.byref(info), text, len(text))
        layers = []
        for i in range(info.nlayers):
            layer = info.layers[i]
            arrays = [(layer.arrays[k].name.decode(),
                       tuple(layer.arrays[k].shape[:layer.arrays[k].ndim]))
                      for k in range(layer.narrays)]
            layers.append((layer.name.decode(), layer.group.decode(), arrays))
        return {"layout": LAYOUTS.get(info.layout, info.layout),
                "keras_version": info.keras_version.decode(), "backend": info.backend.decode(),
                "model_name": info.model_name.decode(), "whole_model": bool(info.whole_model),
                "has_optimizer": bool(info.has_optimizer), "describe": text.value.decode(),
                "layers": layers}
    finally:
        lib.dn_weights_info_free(ctypes.byref(info))


NPY_DTYPES = {np.dtype("<f4"): 0, np.dtype("<f8"): 1, np.dtype("i1"): 2, np.dtype("<i2"): 3,
              np.dtype("<i4"): 4, np.dtype("<i8"): 5, np.dtype("u1"): 6, np.dtype("?"): 7}


def npy_save(lib, path, arr):
    arr = np.require(arr, requirements="C")  # ascontiguousarray would make 0-d arrays 1-d
    shape = (ctypes.c_long * max(1, arr.ndim))(*arr.shape)
    call(lib.dn_npy_save_as, str(path).encode(), NPY_DTYPES[arr.dtype],
         arr.ctypes.data_as(ctypes.c_void_p), arr.ndim, shape)


def npy_load(lib, path):
    data = ctypes.POINTER(ctypes.c_float)()
    ndim = ctypes.c_int()
    shape = (ctypes.c_long * 4)()
    call(lib.dn_npy_load, str(path).encode(), ctypes.byref(data), ctypes.byref(ndim), shape)
    dims = tuple(shape[:ndim.value])
    n = int(np.prod(dims)) if dims else 1
    out = np.ctypeslib.as_array(data, shape=(max(n, 1),))[:n].copy().reshape(dims)
    ctypes.CDLL(None).free(ctypes.cast(data, ctypes.c_void_p))
    return out


def npy_save_strings(lib, path, strings):
    arr = (ctypes.c_char_p * max(1, len(strings)))(*[s.encode() for s in strings])
    call(lib.dn_npy_save_strings, str(path).encode(), arr, len(strings))


def npy_load_strings(lib, path):
    out = ctypes.POINTER(ctypes.c_char_p)()
    n = ctypes.c_long()
    call(lib.dn_npy_load_strings, str(path).encode(), ctypes.byref(out), ctypes.byref(n))
    strings = [out[i].decode() for i in range(n.value)]
    lib.dn_npy_strings_free(out, n)
    return strings
