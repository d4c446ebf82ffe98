"""Teach it your handwriting, as a user: correct ten digits on the pad, learn, undo, save, export, delete."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.core.mnist import load_mnist
from nnstudio.core.model_file import load_model
from nnstudio.core.personal_digits import PersonalDigits
from driving import open_tab


@pytest.fixture
def panel(qtbot, window):
    teach = open_tab(qtbot, window, "Teach")
    return teach.show_panel("personalDigits")


def put_on_pad(qtbot, window, image):
    with qtbot.waitSignal(window.workspace.sketch_changed):
        window.workspace.request_pad_image(image.reshape(28, 28))


def test_ten_corrected_digits_are_learnt_and_undone(qtbot, window, panel, mnist, tmp_path):
    workspace = window.workspace
    model = workspace.model
    assert model is not None and panel.folder == tmp_path / "personal-digits"
    images, labels = mnist.train_images[-6000:], mnist.train_labels[-6000:]  # validation digits
    # the least sure readings first: on the pad (which centres and rescales them) some are read wrong
    unsure = np.argsort(model.predict_proba(images).max(axis=1))[:300]
    corrected = []
    for i in unsure:
        put_on_pad(qtbot, window, images[i])
        read = int(model.predict(workspace.sketch.reshape(1, -1))[0])
        if read == labels[i]:
            continue
        assert f"reads {read}" in panel.prediction_label.text()
        qtbot.mouseClick(window.findChild(object, f"itsA{labels[i]}Button"), Qt.MouseButton.LeftButton)
        corrected.append(labels[i])
        if len(corrected) == 10:
            break
    assert len(panel.digits) == 10 and "10 digits of yours" in panel.caption.text()
    saved = PersonalDigits.load(tmp_path / "personal-digits")  # kept on disk after each change
    assert np.array_equal(saved.labels, corrected)

    original = [p.copy() for p in model.parameters()]
    with qtbot.waitSignal(panel.learnt, timeout=60_000) as learnt:
        qtbot.mouseClick(window.findChild(object, "learnDigitsButton"), Qt.MouseButton.LeftButton)
    result = learnt.args[0]
    assert result.personal_before == 0 and result.personal_after >= 0.7
    assert result.mnist_before - result.mnist_after <= 0.005
    assert "Your digits: 0% →" in panel.result_label.text()
    assert "of my digits" in workspace.model_description
    assert not all(np.array_equal(a, b) for a, b in zip(original, workspace.model.parameters()))
    qtbot.waitUntil(lambda: window.findChild(object, "undoLearnButton").isEnabled())

    assert panel.save_model_to(tmp_path / "tuned.npz")
    assert load_model(tmp_path / "tuned.npz").network.sizes == model.sizes

    qtbot.mouseClick(window.findChild(object, "undoLearnButton"), Qt.MouseButton.LeftButton)
    assert all(np.array_equal(a, b) for a, b in zip(original, workspace.model.parameters()))


def test_thats_right_gallery_delete_and_export(qtbot, window, panel, mnist, tmp_path):
    put_on_pad(qtbot, window, mnist.test_images[0])
    qtbot.mouseClick(window.findChild(object, "thatsRightButton"), Qt.MouseButton.LeftButton)
    put_on_pad(qtbot, window, mnist.test_images[1])
    qtbot.mouseClick(window.findChild(object, "itsA5Button"), Qt.MouseButton.LeftButton)
    assert list(panel.digits.labels) == [window.workspace.model.predict(mnist.test_images[:1])[0], 5]
    qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.LeftButton, pos=panel.tile_center(1))
    assert panel.selected == 1 and "a 5" in panel.caption.text()
    qtbot.mouseClick(window.findChild(object, "deleteDigitButton"), Qt.MouseButton.LeftButton)
    assert len(panel.digits) == 1 and len(PersonalDigits.load(panel.folder)) == 1
    exported = panel.export_to(tmp_path / "export")
    assert load_mnist(exported).train_images.shape == (1, 28, 28)
