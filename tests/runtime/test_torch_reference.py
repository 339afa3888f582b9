"""The runtime against Debian's torch 1.13: every layer's forward pass and gradients, the
losses, and 20 training steps of a small CNN (Adam and SGD with momentum) from identical
initial weights. Layouts are converted here: the runtime is NHWC with HWIO kernels and
TensorFlow's 'same' padding, torch is NCHW/OIHW with symmetric padding.

Tolerances (max |ours - torch| / max |torch|): 1e-5 for a layer's outputs and gradients,
1e-5 for losses, 1e-4 for weights after 20 training steps."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from dnrt import ACT, LIB, LOSS, PAD, Model, fptr  # noqa: E402

LAYER_TOL = 1e-5
TRAIN_TOL = 1e-4
torch.set_num_threads(1)


def rel(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def torch_act(z, act):
    return {"linear": lambda t: t, "relu": torch.relu, "sigmoid": torch.sigmoid,
            "tanh": torch.tanh, "softmax": lambda t: torch.softmax(t, dim=-1)}[act](z)


def tf_pads(size, k, s, pad):
    """TensorFlow's (before, after) padding of one axis"""
    if pad == "valid":
        return 0, 0
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def nchw(t):
    return t.permute(0, 3, 1, 2)


def nhwc(t):
    return t.permute(0, 2, 3, 1)


@pytest.mark.parametrize("act", ["linear", "relu", "sigmoid", "tanh", "softmax"])
def test_dense(act):
    rng = np.random.default_rng(1)
    m = Model((5,)).add("dense", 3, ACT[act], 1)
    p = m.params(0)
    p["bias"][0][:] = rng.uniform(-0.5, 0.5, 3)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    y = m.forward(x).reshape(4, 3)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = m.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    k = torch.tensor(p["kernel"][0], requires_grad=True)
    b = torch.tensor(p["bias"][0], requires_grad=True)
    yt = torch_act(xt @ k + b, act)
    yt.backward(torch.tensor(dy))
    assert rel(y, yt.detach()) < LAYER_TOL
    assert rel(dx, xt.grad) < LAYER_TOL
    assert rel(p["kernel"][1], k.grad) < LAYER_TOL
    assert rel(p["bias"][1], b.grad) < LAYER_TOL


CONVS = [  # filters, kh, kw, sh, sw, padding, activation, (H, W, C)
    (4, 3, 3, 1, 1, "same", "relu", (6, 6, 3)),
    (4, 3, 3, 2, 2, "same", "linear", (8, 8, 2)),     # TF pads 0 before, 1 after
    (3, 5, 5, 1, 1, "valid", "tanh", (9, 8, 2)),
    (2, 2, 3, 2, 1, "same", "sigmoid", (7, 5, 3)),
    (5, 1, 1, 1, 1, "valid", "relu", (4, 4, 6)),
    (4, 3, 3, 1, 1, "valid", "relu", (28, 28, 1)),
    # K = 3*3*64: the runtime's cache-sized chunks then end inside an image
    (8, 3, 3, 1, 1, "same", "relu", (20, 20, 64)),
    (8, 3, 3, 2, 2, "same", "linear", (21, 21, 64)),
    # 3x3 stride 1 with >= 8 channels each way goes by Winograd: odd sizes, tiles that end
    # past the output, filters on and off the vector kernel's multiples of 8
    (16, 3, 3, 1, 1, "valid", "relu", (13, 11, 8)),
    (12, 3, 3, 1, 1, "same", "tanh", (9, 7, 16)),
    # few input channels, no padding, filters a multiple of 8: patches read in place
    (8, 3, 3, 1, 1, "valid", "relu", (11, 9, 1)),
    (16, 3, 3, 2, 2, "valid", "linear", (13, 12, 3)),
    (8, 3, 3, 1, 1, "valid", "relu", (130, 131, 1)),   # cache-sized chunks end mid-row
]


@pytest.mark.parametrize("f,kh,kw,sh,sw,pad,act,shape", CONVS)
def test_conv2d(f, kh, kw, sh, sw, pad, act, shape):
    rng = np.random.default_rng(2)
    H, W, Cin = shape
    m = Model(shape).add("conv2d", f, kh, kw, sh, sw, PAD[pad], ACT[act], 1)
    p = m.params(0)
    p["bias"][0][:] = rng.uniform(-0.5, 0.5, f)
    x = rng.standard_normal((3, H, W, Cin)).astype(np.float32)
    y = m.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    k = torch.tensor(p["kernel"][0], requires_grad=True)        # HWIO
    b = torch.tensor(p["bias"][0], requires_grad=True)
    ph, pw = tf_pads(H, kh, sh, pad), tf_pads(W, kw, sw, pad)
    xin = F.pad(nchw(xt), (pw[0], pw[1], ph[0], ph[1]))
    yt = nhwc(torch_act(F.conv2d(xin, k.permute(3, 2, 0, 1), b, stride=(sh, sw)), "linear"))
    yt = torch_act(yt, act) if act != "softmax" else yt
    y = y.reshape(yt.shape)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = m.backward(dy)
    yt.backward(torch.tensor(dy))
    assert rel(y, yt.detach()) < LAYER_TOL
    assert rel(dx, xt.grad) < LAYER_TOL
    assert rel(p["kernel"][1], k.grad) < LAYER_TOL
    assert rel(p["bias"][1], b.grad) < LAYER_TOL


@pytest.mark.parametrize("ph,pw,sh,sw,pad,shape", [
    (2, 2, 2, 2, "valid", (6, 6, 3)),
    (2, 2, 2, 2, "valid", (7, 5, 2)),
    (3, 3, 2, 2, "same", (7, 7, 2)),
    (2, 2, 1, 1, "same", (4, 5, 3)),
])
def test_maxpool(ph, pw, sh, sw, pad, shape):
    rng = np.random.default_rng(3)
    H, W, Cin = shape
    m = Model(shape).add("maxpool2d", ph, pw, sh, sw, PAD[pad])
    x = rng.standard_normal((2, H, W, Cin)).astype(np.float32)
    y = m.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    pH, pW = tf_pads(H, ph, sh, pad), tf_pads(W, pw, sw, pad)
    xin = F.pad(nchw(xt), (pW[0], pW[1], pH[0], pH[1]), value=-np.inf)
    yt = nhwc(F.max_pool2d(xin, (ph, pw), (sh, sw)))
    y = y.reshape(yt.shape)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = m.backward(dy)
    yt.backward(torch.tensor(dy))
    assert rel(y, yt.detach()) < LAYER_TOL
    assert rel(dx, xt.grad) < LAYER_TOL


def test_batchnorm():
    rng = np.random.default_rng(4)
    m = Model((4, 4, 3)).add("batchnorm", 0.99, 1e-3)
    p = m.params(0)
    p["gamma"][0][:] = rng.uniform(0.5, 1.5, 3)
    p["beta"][0][:] = rng.uniform(-0.5, 0.5, 3)
    bn = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.01)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(p["gamma"][0]))
        bn.bias.copy_(torch.tensor(p["beta"][0]))
    x = (rng.standard_normal((6, 4, 4, 3)) * 2 + 1).astype(np.float32)
    y = m.forward(x, training=True).reshape(x.shape)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    dx = m.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = nhwc(bn(nchw(xt)))
    yt.backward(torch.tensor(dy))
    assert rel(y, yt.detach()) < LAYER_TOL
    assert rel(dx, xt.grad) < LAYER_TOL
    assert rel(p["gamma"][1], bn.weight.grad) < LAYER_TOL
    assert rel(p["beta"][1], bn.bias.grad) < LAYER_TOL
    assert rel(p["moving_mean"][0], bn.running_mean) < LAYER_TOL
    assert rel(p["moving_variance"][0], bn.running_var) < LAYER_TOL
    bn.eval()
    y = m.forward(x, training=False).reshape(x.shape)
    assert rel(y, nhwc(bn(nchw(torch.tensor(x)))).detach()) < LAYER_TOL


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "softmax"])
def test_activation_layer(act):
    rng = np.random.default_rng(5)
    m = Model((3, 4)).add("activation_layer", ACT[act])
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    y = m.forward(x).reshape(x.shape)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    dx = m.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch_act(xt, act)
    yt.backward(torch.tensor(dy))
    assert rel(y, yt.detach()) < LAYER_TOL
    assert rel(dx, xt.grad) < LAYER_TOL


def test_flatten_is_hwc_order():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    m = Model((3, 4, 5)).add("flatten")
    assert np.array_equal(m.forward(x), x.reshape(-1))


@pytest.mark.parametrize("loss", ["mse", "binary_crossentropy", "categorical_crossentropy"])
def test_losses(loss):
    rng = np.random.default_rng(6)
    z = rng.standard_normal((5, 3)).astype(np.float32)
    if loss == "categorical_crossentropy":
        p = torch.softmax(torch.tensor(z), 1).numpy()
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 5)]
        ref = -(torch.tensor(y) * torch.log_softmax(torch.tensor(z), 1)).sum(1).mean()
    elif loss == "binary_crossentropy":
        p = torch.sigmoid(torch.tensor(z)).numpy()
        y = rng.integers(0, 2, (5, 3)).astype(np.float32)
        ref = F.binary_cross_entropy_with_logits(torch.tensor(z), torch.tensor(y))
    else:
        p = z
        y = rng.standard_normal((5, 3)).astype(np.float32)
        ref = F.mse_loss(torch.tensor(p), torch.tensor(y))
    ours = LIB.dn_loss_eval(LOSS[loss], fptr(p), fptr(y), 5, 3, 0, None)
    assert abs(ours - float(ref)) / abs(float(ref)) < LAYER_TOL


def build_cnn(seed=3):
    m = Model((12, 12, 1), seed)
    m.add("conv2d", 8, 3, 3, 1, 1, PAD["valid"], ACT["relu"], 1)
    m.add("conv2d", 8, 3, 3, 1, 1, PAD["same"], ACT["relu"], 1)
    m.add("maxpool2d", 2, 2, 0, 0, PAD["valid"])
    m.add("flatten")
    m.add("dense", 16, ACT["relu"], 1)
    m.add("dense", 10, ACT["softmax"], 1)
    return m


def torch_cnn(w, x):
    h = F.relu(F.conv2d(nchw(x), w[0].permute(3, 2, 0, 1), w[1]))
    h = F.relu(F.conv2d(F.pad(h, (1, 1, 1, 1)), w[2].permute(3, 2, 0, 1), w[3]))
    h = nhwc(F.max_pool2d(h, 2)).reshape(x.shape[0], -1)
    h = F.relu(h @ w[4] + w[5])
    return h @ w[6] + w[7]          # logits; softmax is in the loss


@pytest.mark.parametrize("opt", ["Adam", "SGD"])
def test_cnn_training_matches_torch(opt):
    rng = np.random.default_rng(7)
    m = build_cnn()
    layers = [0, 1, 4, 5]
    ours = [m.params(i)[n] for i in layers for n in ("kernel", "bias")]
    # non-zero biases so their updates are tested from the first step
    for d, _ in ours[1::2]:
        d[:] = rng.uniform(-0.1, 0.1, d.shape)
    w = [torch.tensor(d.copy(), requires_grad=True) for d, _ in ours]
    if opt == "Adam":
        m.compile("Adam", "categorical_crossentropy")
        lr, b1, b2, eps = 0.001, 0.9, 0.999, 1e-7
        mom = [torch.zeros_like(t) for t in w]
        vel = [torch.zeros_like(t) for t in w]
    else:
        m.compile("SGD", "categorical_crossentropy", lr=0.05, momentum=0.9)
        topt = torch.optim.SGD(w, lr=0.05, momentum=0.9)
    worst_loss = 0.0
    for step in range(1, 21):
        x = rng.standard_normal((16, 12, 12, 1)).astype(np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)]
        loss, _ = m.train_on_batch(x, y)
        tl = -(torch.tensor(y) * torch.log_softmax(torch_cnn(w, torch.tensor(x)), 1)).sum(1).mean()
        for t in w:
            t.grad = None
        tl.backward()
        worst_loss = max(worst_loss, abs(loss - float(tl)) / abs(float(tl)))
        with torch.no_grad():
            if opt == "Adam":
                # Keras 2.3's Adam: lr_t = lr sqrt(1-b2^t)/(1-b1^t), eps outside the sqrt
                lr_t = lr * np.sqrt(1 - b2 ** step) / (1 - b1 ** step)
                for t, mm, vv in zip(w, mom, vel):
                    mm.mul_(b1).add_((1 - b1) * t.grad)
                    vv.mul_(b2).add_((1 - b2) * t.grad * t.grad)
                    t.sub_(lr_t * mm / (vv.sqrt() + eps))
            else:
                topt.step()   # torch's v = mu v + g; w -= lr v is Keras' rule for a fixed lr
    worst_w = max(rel(d, t.detach()) for (d, _), t in zip(ours, w))
    print(f"\n{opt}: 20 steps, worst loss rel diff {worst_loss:.1e}, worst weight rel diff {worst_w:.1e}")
    assert worst_loss < LAYER_TOL * 10
    assert worst_w < TRAIN_TOL
