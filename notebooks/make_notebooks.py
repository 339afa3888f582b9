#!/usr/bin/env python3
"""Writes the lesson notebooks (notebooks/*.ipynb) from the cells below, so that every
notebook has the same clean metadata (the kernelspec and the language_info the kernel
reports, so JupyterLab opens them without unsaved changes) and stable cell ids.

    python3 notebooks/make_notebooks.py      # rewrites the notebooks beside this file

Edit the cells here, run it, commit both. Any Python 3 with the standard library will do.
"""
import json
import pathlib
import re

HERE = pathlib.Path(__file__).resolve().parent
VERSION = re.search(r"version\s*:\s*'([^']+)'", (HERE.parent / "meson.build").read_text()).group(1)

METADATA = {
    "kernelspec": {"display_name": "deepnb", "language": "deepnb", "name": "deepnb"},
    "language_info": {
        "codemirror_mode": "shell", "file_extension": ".dnb", "mimetype": "text/x-deepnb",
        "name": "deepnb", "pygments_lexer": "bash", "version": VERSION,
    },
}


def md(text):
    return ("markdown", text)


def code(text):
    return ("code", text)


def notebook(name, cells):
    out = []
    for i, (kind, text) in enumerate(cells):
        text = text.strip("\n")
        cell = {"cell_type": kind, "id": f"{name}-{i:02d}", "metadata": {},
                "source": text.splitlines(True)}
        if kind == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
        out.append(cell)
    nb = {"cells": out, "metadata": METADATA, "nbformat": 4, "nbformat_minor": 5}
    path = HERE / f"{name}.ipynb"
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return path


# ---------------------------------------------------------------- the pre-trained base

BASE_MODEL = """%%model base
Conv2D(32, (3,3), activation='relu', padding='same', input_shape=(28, 28, 1), name='block1_conv1')
BatchNormalization(name='block1_bn')
MaxPooling2D((2,2), name='block1_pool')
Conv2D(64, (3,3), activation='relu', padding='same', name='block2_conv1')
BatchNormalization(name='block2_bn')
MaxPooling2D((2,2), name='block2_pool')
Flatten(name='flatten')
Dense(256, activation='relu', name='fc1')
Dropout(0.5, name='dropout1')
Dense(8, activation='softmax', name='predictions')"""

PRETRAIN = [
    md("""# Lesson 2, offline: the pre-trained network

Lesson 2 fine-tunes VGG16, a network trained on ImageNet. No machine here can download
those weights, so this notebook makes the stand-in: a small convolutional network trained
on the eight Fashion-MNIST classes that are *not* in the competition (the competition's
sneakers and ankle boots stand in for cats and dogs). Like VGG16 and cats vs dogs, the
base has never been asked about sneakers vs boots, but it has learnt what shoes, edges and
soles look like.

The weights are saved in Keras' HDF5 layout as `work-data/models/base.h5`, the file
`lesson2-redux.ipynb` and `lesson2-linear.ipynb` start from. Every run gives the same
file, byte for byte (`%seed`, a fixed order of work, no time stamps in the file)."""),
    md("## The data\n`%dataset` lays out the offline set afresh (its `pretrain/` folder has the eight classes)."),
    code("""%mkdir -p ../work-data
%cd ../work-data
%dataset fashion-mnist pretrain-data refresh=True"""),
    code("""%seed 2017
%batches pre_train pretrain-data/pretrain/train size=28 color=grayscale preprocess=scale batch_size=64
%batches pre_valid pretrain-data/pretrain/valid size=28 color=grayscale preprocess=scale batch_size=64 shuffle=False"""),
    md("""## The network
Two blocks of 3×3 convolutions with batch normalisation and max-pooling, as VGG's blocks,
then a dense layer and the classifier, named the way VGG16's layers are."""),
    code(BASE_MODEL),
    code("""%compile base optimizer=Adam(lr=0.001) loss=categorical_crossentropy metrics=accuracy
%summary base"""),
    md("## Training\nThree epochs over the 48,000 images."),
    code("%fit base pre_train pre_valid epochs=3"),
    code("%plot_history base"),
    md("## Its accuracy on its own validation set, and the file"),
    code("%evaluate base pre_valid"),
    code("""%mkdir -p models
%save_weights base models/base.h5"""),
    code("""%predict base pre_valid as=pre_preds
%confusion_matrix pre_preds"""),
]

# ---------------------------------------------------------------- the redux notebook

REDUX = [
    md("""# Lesson 2: Dogs vs Cats Redux, offline

Jeremy's solution to Kaggle's Dogs vs Cats Redux, cell by cell, on the offline stand-in:
Fashion-MNIST's **sneakers and ankle boots** laid out exactly as the competition ships
cats and dogs (`train/sneaker.0.png … boot.5999.png`, `test/1.png …`,
`sample_submission.csv`), and a small network pre-trained on the other eight classes in
place of VGG16 (made by `lesson2-pretrain.ipynb`).

Jeremy's to-do list, one heading each:
1. Create validation and sample sets
2. Move images to appropriate directories
3. Fine-tune and train
4. Submit
5. Look at the results"""),
    md("""## 0. The data, afresh
`%dataset` lays the set out again on every run (`refresh=True`), so this notebook can
always be run from the top and gives the same record."""),
    code("""%mkdir -p ../work-data
%cd ../work-data
%dataset fashion-mnist lesson2 refresh=True"""),
    code("""!ls lesson2
!ls lesson2/train | head -4
!ls lesson2/train | wc -l
!head -3 lesson2/sample_submission.csv"""),
    md("""## 1. Create validation and sample sets
## 2. Move images to appropriate directories
Jeremy's process: shuffle `train/`, move 2,000 images to `valid/`; copy 200 random training
and 50 random validation images to `sample/`; in each folder make one folder per class
(`boot/`, `sneaker/`) and move the images in by their file name; move `test/*` into
`test/unknown/`. `%split` does all of it; `%seed` makes the random choices the same on
every run."""),
    code("""%seed 42
%split lesson2 valid=2000 sample_train=200 sample_valid=50"""),
    md("""Batches as Keras' `flow_from_directory`: the classes are the sorted folder names
(`boot` = 0, `sneaker` = 1, as cats = 0 and dogs = 1). Training batches are shuffled;
validation and test batches are not, so predictions come back in file-name order."""),
    code("""%batches batches lesson2/train size=28 color=grayscale preprocess=scale batch_size=64
%batches val_batches lesson2/valid size=28 color=grayscale preprocess=scale batch_size=64 shuffle=False
%batches test_batches lesson2/test size=28 color=grayscale preprocess=scale batch_size=64 shuffle=False class_mode=None"""),
    code("%plots batches"),
    md("""## 3. Fine-tune and train
The pre-trained network, as `vgg16.py` builds VGG16 and loads its weights
(`models/base.h5` comes from `lesson2-pretrain.ipynb`)."""),
    code(BASE_MODEL.replace("%%model base", "%%model vgg")),
    code("%load_weights vgg models/base.h5"),
    md("""`Vgg16.finetune`: drop the last layer, freeze every other layer, add
`Dense(2, activation='softmax')` for boot and sneaker, compile with Adam(lr=0.001). Then, as
the lesson does, a higher learning rate, and one epoch at a time with the weights saved
after each (`results/ft1.h5`, `ft2.h5`, `ft3.h5`)."""),
    code("""%finetune vgg batches
%lr vgg 0.01"""),
    code("%fit vgg batches val_batches epochs=1 save=lesson2/results/ft{epoch}.h5"),
    code("%fit vgg batches val_batches epochs=1 save=lesson2/results/ft{epoch}.h5"),
    code("%fit vgg batches val_batches epochs=1 save=lesson2/results/ft{epoch}.h5"),
    md("""Only the new layer has learnt so far. The lesson goes further: let the dense layer
below it learn too, at a lower rate, so its features fit boots and sneakers."""),
    code("""%trainable vgg from=fc1
%lr vgg 0.001"""),
    code("%fit vgg batches val_batches epochs=2 save=lesson2/results/ft{epoch}.h5"),
    code("%evaluate vgg val_batches"),
    md("""## 4. Submit
Predict the test set (unshuffled, so row *i* is file *i*), take P(sneaker), clip it to
[0.05, 0.95] and write `id,label` rows, ids from the file names (`unknown/1234.png` is
1234). The predictions are saved as arrays too, as the lesson's notebook did."""),
    code("""%predict vgg test_batches as=preds
%save preds lesson2/results/test_preds.npy
%let filenames = preds.filenames
%save filenames lesson2/results/filenames.npy
filenames[:5]"""),
    code("%submit preds lesson2/results/submission.csv clip=(0.05, 0.95) column=sneaker"),
    code("%FileLink lesson2/results/submission.csv"),
    md("""## 5. Look at the results
On the validation set, whose true classes we know."""),
    code("""%predict vgg val_batches as=val_preds
mean(argmax(val_preds) == val_preds.classes)"""),
    md("### 1. A few correct labels at random"),
    code("%plots val_preds correct"),
    md("### 2. A few incorrect labels at random"),
    code("%plots val_preds incorrect"),
    md("### 3. The images we were most confident were boots, and are boots"),
    code("%plots val_preds most_correct boot"),
    code("%plots val_preds most_correct sneaker"),
    md("### 4. The images we were most confident were boots, but are sneakers (and the reverse)"),
    code("%plots val_preds most_incorrect boot"),
    code("%plots val_preds most_incorrect sneaker"),
    md("### 5. The most uncertain labels (probability nearest 0.5)"),
    code("%plots val_preds uncertain"),
    md("## The confusion matrix\nRows are the true classes, columns the predicted ones."),
    code("%confusion_matrix val_preds"),
    md("""## Log loss
Kaggle scores with the log loss: a confident mistake costs without bound, which is why
the submission clips."""),
    code("%logloss val_preds clip=(0.05, 0.95)"),
    md("## Beyond the lesson: the worst predictions, and training over time"),
    code("%top_losses val_preds"),
    code("%plot_history vgg"),
]

# ---------------------------------------------------------------- SGD and the spreadsheet view

SGD = [
    md("""# Lesson 2: linear regression by SGD, and a network as matrix products

The lesson's smaller pieces: fitting a line with stochastic gradient descent in Keras'
words, then a small network seen as a chain of matrix products, as in Jeremy's
spreadsheet."""),
    md("""## A line, by SGD
`y = 2 x1 + 3 x2 + 1` for 30 random points."""),
    code("""%seed 42
%let x = random(30, 2)
%let y = x @ [2., 3.] + 1.
x[:5]"""),
    code("y[:5]"),
    md("A linear model is one Dense layer; SGD with a learning rate of 0.1 minimises the mean squared error."),
    code("""%%model lm
Dense(1, input_shape=(2,))"""),
    code("""%compile lm optimizer=SGD(lr=0.1) loss=mse
%evaluate lm x y"""),
    md("How far off the random weights are. One pass of SGD over the 30 points, one point at a time, five times:"),
    code("%fit lm x y epochs=5 batch_size=1"),
    code("%evaluate lm x y"),
    md("Less than before, as expected. Once more, as the lesson does:"),
    code("%fit lm x y epochs=5 batch_size=1"),
    code("%evaluate lm x y"),
    md("The weights should be close to 2 and 3, the bias close to 1:"),
    code("%weights lm"),
    code("%plot_history lm"),
    md("""## A network as a chain of matrix products
Three inputs, a hidden layer of four relu units, two softmax outputs: each layer
multiplies its input by its kernel, adds the bias and applies its activation."""),
    code("""%%model net
Dense(4, activation='relu', input_shape=(3,))
Dense(2, activation='softmax')"""),
    code("""%let xs = random(4, 3)
%let labels = one_hot([0, 1, 1, 0], 2)
xs"""),
    md("The weights, as the spreadsheet shows them: a row per input, a column per unit."),
    code("%weights net"),
    md("Each layer's output for the four examples: the activations."),
    code("%activations net xs n=4"),
    md("A few steps of SGD change the weights so the outputs move towards the labels:"),
    code("""%compile net optimizer=SGD(lr=0.5) loss=categorical_crossentropy metrics=accuracy
%fit net xs labels epochs=50 batch_size=4 verbose=0
%activations net xs n=4"""),
]

# ---------------------------------------------------------------- the linear model, then fine-tuning

LINEAR = [
    md("""# Lesson 2: a linear model on a pre-trained network, then fine-tuning

The lesson's middle part: take what the pre-trained network computes for every image, fit
a linear model from it to boot vs sneaker; then do better by replacing the network's last
layer, and by letting more layers learn at lower learning rates. Each step's validation
accuracy is shown."""),
    code("""%mkdir -p ../work-data
%cd ../work-data
%dataset fashion-mnist lesson2-linear refresh=True
%seed 7
%split lesson2-linear valid=2000"""),
    code("""%batches trn_batches lesson2-linear/train size=28 color=grayscale preprocess=scale batch_size=64 shuffle=False
%batches val_batches lesson2-linear/valid size=28 color=grayscale preprocess=scale batch_size=64 shuffle=False
%batches batches lesson2-linear/train size=28 color=grayscale preprocess=scale batch_size=64"""),
    code(BASE_MODEL),
    code("%load_weights base models/base.h5"),
    md("""## A linear model on the network's predictions
In the lesson, VGG16's 1,000 ImageNet probabilities of every image are the inputs of
`Dense(2, softmax)`. Here the base's predictions are 8 probabilities, one per class it
was trained on. The labels are one-hot; the arrays are saved as `.npy`, as the lesson
saved its arrays for later sessions."""),
    code("""%predict base trn_batches as=trn_preds
%predict base val_batches as=val_preds
%save trn_preds lesson2-linear/results/trn_preds.npy
%let trn_labels = trn_batches.labels
%let val_labels = val_batches.labels
trn_preds[:4]"""),
    code("""%%model lm
Dense(2, activation='softmax', input_shape=(8,))"""),
    code("""%compile lm optimizer=RMSprop(lr=0.1) loss=categorical_crossentropy metrics=accuracy
%fit lm trn_preds trn_labels epochs=3 batch_size=64 validation=(val_preds, val_labels)"""),
    md("""No better than a coin. The table above says why: the base calls every boot and every
sneaker a *sandal*, with a probability of almost 1, so its 8 outputs are the same for
both classes and nothing is left to tell them apart. ImageNet's 1,000 categories include
dozens of dog and cat breeds, so VGG16's predictions keep the difference; 8 classes
without either shoe cannot. This is the lesson's point about stacking a layer on top of
the predictions: it limits the information to what the old classes can say.

## A linear model on the layer below
The activations of `fc1`, the 256 units under the classifier, keep much more. `%pop`
removes the classifier, so the base's outputs are those 256 numbers."""),
    code("""%pop base
%predict base trn_batches as=trn_features
%predict base val_batches as=val_features
%save trn_features lesson2-linear/results/trn_features.npy
%save val_features lesson2-linear/results/val_features.npy"""),
    code("""%%model lm256
Dense(2, activation='softmax', input_shape=(256,))"""),
    code("""%compile lm256 optimizer=RMSprop(lr=0.001) loss=categorical_crossentropy metrics=accuracy
%fit lm256 trn_features trn_labels epochs=3 batch_size=64 validation=(val_features, val_labels)"""),
    md("""## Replace the last layer
The same, inside the network: freeze the base and add the new classifier where the old
one was (pop, freeze, add: what `%finetune` does in one step)."""),
    code("""%freeze base
%add base Dense(2, activation='softmax')
%compile base optimizer=RMSprop(lr=0.001) loss=categorical_crossentropy metrics=accuracy
%summary base"""),
    code("%fit base batches val_batches epochs=2"),
    md("Saved, loaded back, evaluated: the same numbers."),
    code("""%save_weights base lesson2-linear/results/lm.h5
%load_weights base lesson2-linear/results/lm.h5
%evaluate base val_batches"""),
    md("""## Let more layers learn
First the dense layer below the new one (from `fc1`) at a lower rate; then a whole
convolutional block too, lower still. Unlike Keras, no recompiling is needed: the change
takes effect at the next step."""),
    code("""%trainable base from=fc1
%lr base 0.0005
%fit base batches val_batches epochs=1"""),
    code("""%trainable base from=block2_conv1
%lr base 0.0001
%fit base batches val_batches epochs=1"""),
    code("%history base"),
]

# ---------------------------------------------------------------- VGG16 with the real weights

VGG16 = [
    md("""# Lesson 2 with the real VGG16

For users who have VGG16's Keras weights (`vgg16_weights_tf_dim_ordering_tf_kernels.h5`,
553,467,096 bytes, from Keras' applications). Put the file in `work-data/vgg16/`; this
notebook builds VGG16 as the course's `vgg16.py` does, loads the weights, and fine-tunes
it on two real photos from Debian's packages (a cat, `chelsea.png` from scikit-image, and
a dog, `dog.jpg` from darknet), 224×224 RGB, preprocessed as VGG16 was trained (ImageNet
mean subtracted, channels in BGR order). On a CPU, VGG16 takes seconds per image.

Without the file, `%model` stops with a FileNotFoundError that names it."""),
    code("""%mkdir -p ../work-data
%cd ../work-data
%model vgg vgg16 weights=vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5"""),
    code("""!rm -rf photos && mkdir -p photos/train/cat photos/train/dog
!cp /usr/lib/python3/dist-packages/skimage/data/chelsea.png photos/train/cat/
!cp /usr/share/darknet/data/dog.jpg photos/train/dog/
%batches photos photos/train size=224 preprocess=vgg batch_size=2 shuffle=False"""),
    code("%plots photos"),
    code("""%predict vgg photos as=imagenet
argmax(imagenet)"""),
    code("""%finetune vgg photos
%fit vgg photos epochs=1"""),
    code("""%predict vgg photos as=preds
preds"""),
]

if __name__ == "__main__":
    for name, cells in (("lesson2-pretrain", PRETRAIN), ("lesson2-redux", REDUX),
                        ("lesson2-sgd", SGD), ("lesson2-linear", LINEAR), ("lesson2-vgg16", VGG16)):
        print("wrote", notebook(name, cells))
